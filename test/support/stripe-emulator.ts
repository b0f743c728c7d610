/**
 * A stateful Stripe stand-in on a loopback port, speaking Stripe's wire format to the official
 * SDK (form-encoded bodies with bracket keys, `object`-tagged JSON, list envelopes, Stripe's error
 * shapes and idempotency-key replay). Tests point STRIPE_API_BASE at it and drive the real SDK —
 * no SDK stubs. Fault switches make calls fail with 500 or 429, hang, or slow down.
 */

import { addBillingRoutes } from './stripe-emulator-billing'
import {
  cardError,
  invalid,
  type Json,
  missing,
  parseStripeForm,
  StripeHttpError,
  stripeList,
} from './stripe-emulator-wire'
import { EMULATED_API_VERSION, fixtureOf, fromFixture, nestedList } from './stripe-fixture-objects'

export { invalid, missing, parseStripeForm }

export interface EmulatorCall {
  method: string
  path: string
  idempotencyKey: string | null
  params: Json
  status: number
}

export type Fault =
  | { kind: 'status'; status: 500 | 429 | 503 }
  | { kind: 'hang' }
  | { kind: 'card_declined'; declineCode?: string }
  /** Stripe does the work, then the answer never arrives (the client times out). */
  | { kind: 'lost' }

interface Route {
  method: string
  pattern: RegExp
  handle(match: RegExpExecArray, params: Json, emulator: StripeEmulator): Json | Response
}

const DAY_S = 86_400

/** Unit amounts of the prices the tests use (cents). */
export const PRICES: Record<string, { amount: number; interval: 'month' | 'year' }> = {
  price_monthly: { amount: 500, interval: 'month' },
  price_yearly: { amount: 5000, interval: 'year' },
}

export class StripeEmulator {
  readonly customers = new Map<string, Json>()
  readonly subscriptions = new Map<string, Json>()
  readonly paymentMethods = new Map<string, Json>()
  readonly setupIntents = new Map<string, Json>()
  readonly checkoutSessions = new Map<string, Json>()
  readonly portalSessions = new Map<string, Json>()
  readonly invoices = new Map<string, Json>()
  /** Every quantity or price change, as Stripe would prorate it. */
  readonly prorations: Json[] = []
  /** Webhook events made by `event()`, oldest first. */
  readonly events: Json[] = []
  readonly calls: EmulatorCall[] = []
  /** Secret keys Stripe answers 401 authentication_error to (a revoked or mistyped key). */
  readonly refusedKeys = new Set<string>()
  /** Payment methods every charge to which fails (pm_card_chargeCustomerFail), by id. */
  readonly decliningCards = new Set<string>()
  /** What each Checkout session will subscribe to once completed (not part of Stripe's object). */
  readonly checkoutRequests = new Map<string, { price: string; subscriptionData: Json | null }>()
  private readonly idempotent = new Map<string, { params: string; status: number; body: string }>()
  private readonly faults: { fault: Fault; only?: { method: string; path: RegExp } }[] = []
  private delayMs = 0
  private hangAll = false
  private routes: Route[] = []
  private server: ReturnType<typeof Bun.serve> | null = null
  private counter = 0
  private readonly hanging = new Set<() => void>()
  /** Epoch ms; tests share their manual clock so Stripe's timestamps agree with ours. */
  now: () => number = () => Date.now()

  constructor() {
    this.addCoreRoutes()
    addBillingRoutes(this)
  }

  get url(): string {
    if (!this.server) throw new Error('emulator not started')
    return `http://127.0.0.1:${this.server.port}`
  }

  start(): this {
    this.server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      idleTimeout: 0,
      fetch: (req) => this.handle(req),
    })
    return this
  }

  stop() {
    for (const release of this.hanging) release()
    this.server?.stop(true)
  }

  // --- fault switches -----------------------------------------------------------------------

  /** The next `n` calls (matching `only`, when given) fail with `fault`; each SDK retry is a call. */
  failNext(
    n: number,
    fault: Fault = { kind: 'status', status: 500 },
    only?: { method: string; path: RegExp },
  ) {
    for (let i = 0; i < n; i++) this.faults.push({ fault, only })
  }
  /** Every call hangs until `recover()`. */
  hang() {
    this.hangAll = true
  }
  /** Every call is answered after `ms`. */
  slow(ms: number) {
    this.delayMs = ms
  }
  recover() {
    this.faults.length = 0
    this.hangAll = false
    this.delayMs = 0
    for (const release of this.hanging) release()
    this.hanging.clear()
  }

  // --- helpers for tests ---------------------------------------------------------------------

  id(prefix: string) {
    return `${prefix}_${(++this.counter).toString(36).padStart(6, '0')}${Math.random().toString(36).slice(2, 10)}`
  }
  nowSeconds() {
    return Math.floor(this.now() / 1000)
  }
  callsTo(method: string, pathPattern: RegExp) {
    return this.calls.filter((c) => c.method === method && pathPattern.test(c.path))
  }
  /** Registers more endpoints (the billing tests add prices, invoices, checkout…). */
  route(method: string, pattern: RegExp, handle: Route['handle']) {
    this.routes.push({ method, pattern, handle })
  }

  createCustomer(params: Json = {}): Json {
    const id = this.id('cus')
    const fixture = fixtureOf('customer')
    const customer = fromFixture('customer', {
      id,
      email: params.email ?? null,
      name: params.name ?? null,
      description: null,
      phone: null,
      address: null,
      shipping: null,
      discount: null,
      metadata: params.metadata ?? {},
      created: this.nowSeconds(),
      balance: 0,
      delinquent: false,
      invoice_prefix: id.slice(4, 12).toUpperCase(),
      next_invoice_sequence: 1,
      invoice_settings: {
        ...fixture.invoice_settings,
        default_payment_method: params.invoice_settings?.default_payment_method ?? null,
      },
    })
    this.customers.set(id, customer)
    return customer
  }

  /** A price of PRICES as Stripe answers it (and its legacy `plan` twin, carried by items). */
  priceObject(priceId: string): Json {
    const unit = PRICES[priceId]
    if (!unit) throw missing('price', priceId)
    const price = fixtureOf('price')
    return fromFixture('price', {
      id: priceId,
      unit_amount: unit.amount,
      unit_amount_decimal: String(unit.amount),
      currency: 'usd',
      recurring: { ...price.recurring, interval: unit.interval, interval_count: 1 },
      product: 'prod_custodian_seat',
      lookup_key: null,
      nickname: null,
      metadata: {},
    })
  }

  planObject(priceId: string): Json {
    const unit = PRICES[priceId]
    if (!unit) throw missing('price', priceId)
    return fromFixture('plan', {
      id: priceId,
      amount: unit.amount,
      amount_decimal: String(unit.amount),
      currency: 'usd',
      interval: unit.interval,
      interval_count: 1,
      product: 'prod_custodian_seat',
      nickname: null,
      metadata: {},
    })
  }

  /** The card an invoice of this customer would be charged to, or null. */
  defaultCard(customer: Json, subscriptionParams: Json = {}): Json | null {
    const id = subscriptionParams.default_payment_method ?? customer.invoice_settings?.default_payment_method
    return id ? (this.paymentMethods.get(id) ?? null) : null
  }

  /** A paid invoice for `quantity` seats of `price` (what charging a subscription leaves behind). */
  createInvoice(customer: string, subscription: string | null, amount: number, fields: Json = {}): Json {
    const id = this.id('in')
    const now = this.nowSeconds()
    const fixture = fixtureOf('invoice')
    const paid = (fields.status ?? 'paid') === 'paid'
    const parent = subscription
      ? {
          type: 'subscription_details',
          quote_details: null,
          subscription_details: { metadata: {}, subscription },
        }
      : null
    const line = {
      ...fixture.lines.data[0],
      id: this.id('il'),
      amount,
      currency: 'usd',
      description: subscription ? 'Custodian seats' : 'Custodian',
      invoice: id,
      livemode: false,
      metadata: {},
      period: { start: now, end: now },
    }
    const invoice = fromFixture('invoice', {
      id,
      customer,
      customer_email: this.customers.get(customer)?.email ?? null,
      number: `EMU-${String(this.invoices.size + 1).padStart(4, '0')}`,
      amount_due: amount,
      amount_paid: paid ? amount : 0,
      amount_remaining: paid ? 0 : amount,
      subtotal: amount,
      subtotal_excluding_tax: amount,
      total: amount,
      total_excluding_tax: amount,
      starting_balance: 0,
      ending_balance: 0,
      currency: 'usd',
      status: 'paid',
      created: now,
      period_start: now,
      period_end: now,
      description: null,
      invoice_pdf: `https://pay.stripe.test/invoice/${this.counter}/pdf`,
      hosted_invoice_url: `https://invoice.stripe.test/i/${this.counter}`,
      parent,
      lines: { ...fixture.lines, data: [line], has_more: false, url: `/v1/invoices/${id}/lines` },
      status_transitions: { ...fixture.status_transitions, finalized_at: now, paid_at: paid ? now : null },
      ...fields,
    })
    this.invoices.set(id, invoice)
    return invoice
  }

  /**
   * A subscription as Stripe creates it. Without a trial the first invoice is charged at once to
   * the default card: no card is a 400, a declining card a 402, and either way nothing is created
   * (payment_behavior=error_if_incomplete). `status` (not a Stripe parameter) lets tests place a
   * subscription in any state directly.
   */
  createSubscription(params: Json): Json {
    const customer = this.customers.get(params.customer)
    if (!customer || customer.deleted) throw missing('customer', String(params.customer))
    const now = this.nowSeconds()
    const trialDays = Number(params.trial_period_days ?? 0)
    const items = (params.items ?? [{}]) as Json[]
    const price = String(items[0]?.price ?? 'price_monthly')
    const quantity = Number(items[0]?.quantity ?? 1)
    const unit = PRICES[price]
    if (!unit) throw missing('price', price)
    const periodEnd =
      trialDays > 0 ? now + trialDays * DAY_S : now + (unit.interval === 'year' ? 365 : 30) * DAY_S
    if (params.status === undefined && trialDays === 0) {
      const card = this.defaultCard(customer, params)
      if (!card)
        throw invalid(
          'This customer has no attached payment source or default payment method. Please consider adding a default payment method.',
        )
      if (this.decliningCards.has(card.id)) throw cardError('Your card was declined.', 'generic_decline')
    }
    const id = this.id('sub')
    const item = fromFixture('subscription_item', {
      id: this.id('si'),
      subscription: id,
      price: this.priceObject(price),
      plan: this.planObject(price),
      quantity,
      created: now,
      current_period_start: now,
      current_period_end: periodEnd,
      metadata: {},
      discounts: [],
    })
    const subscription = fromFixture('subscription', {
      id,
      customer: customer.id,
      status: params.status ?? (trialDays > 0 ? 'trialing' : 'active'),
      cancel_at_period_end: false,
      cancel_at: null,
      canceled_at: null,
      ended_at: null,
      created: now,
      start_date: now,
      billing_cycle_anchor: periodEnd,
      collection_method: 'charge_automatically',
      currency: 'usd',
      description: null,
      trial_start: trialDays > 0 ? now : null,
      trial_end: trialDays > 0 ? periodEnd : null,
      metadata: params.metadata ?? {},
      default_payment_method: params.default_payment_method ?? null,
      latest_invoice: null as string | null,
      pending_setup_intent: null,
      schedule: null,
      test_clock: null,
      items: {
        ...fixtureOf('subscription').items,
        ...nestedList([item], `/v1/subscription_items?subscription=${id}`),
      },
    })
    subscription.latest_invoice = this.createInvoice(
      customer.id,
      subscription.id,
      trialDays > 0 ? 0 : unit.amount * quantity,
    ).id
    this.subscriptions.set(subscription.id, subscription)
    return subscription
  }

  /** A webhook event about `object` as it is now, shaped like Stripe's (tests sign and deliver it). */
  event(type: string, object: Json): Json {
    const event = fromFixture('event', {
      id: this.id('evt'),
      api_version: EMULATED_API_VERSION,
      created: this.nowSeconds(),
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
      data: { object: structuredClone(object) },
    })
    this.events.push(event)
    return event
  }

  // --- HTTP ------------------------------------------------------------------------------------

  private async handle(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const body =
      request.method === 'GET' || request.method === 'DELETE'
        ? url.searchParams.toString()
        : await request.text()
    const params = parseStripeForm(body || url.searchParams.toString())
    const idempotencyKey = request.headers.get('idempotency-key')
    const record = (status: number) => {
      this.calls.push({ method: request.method, path: url.pathname, idempotencyKey, params, status })
    }
    if (!/^Bearer \S+/.test(request.headers.get('authorization') ?? '')) {
      record(401)
      return Response.json(
        { error: { type: 'invalid_request_error', message: 'You did not provide an API key.' } },
        { status: 401 },
      )
    }
    const key = (request.headers.get('authorization') ?? '').slice('Bearer '.length)
    if (this.refusedKeys.has(key)) {
      record(401)
      return Response.json(
        {
          error: {
            type: 'authentication_error',
            message: `Invalid API Key provided: ${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`,
          },
        },
        { status: 401 },
      )
    }
    if (this.hangAll) {
      record(0)
      await new Promise<void>((resolve) => this.hanging.add(resolve))
      return new Response('', { status: 503 })
    }
    if (this.delayMs) await Bun.sleep(this.delayMs)
    const index = this.faults.findIndex(
      ({ only }) => !only || (only.method === request.method && only.path.test(url.pathname)),
    )
    const fault = index === -1 ? undefined : this.faults.splice(index, 1)[0]?.fault
    if (fault) {
      if (fault.kind === 'hang') {
        record(0)
        await new Promise<void>((resolve) => this.hanging.add(resolve))
        return new Response('', { status: 503 })
      }
      if (fault.kind === 'lost') {
        // Let the request through, then swallow the answer.
        await this.dispatch(request, url, body, params, idempotencyKey, record)
        await new Promise<void>((resolve) => this.hanging.add(resolve))
        return new Response('', { status: 503 })
      }
      if (fault.kind === 'status') {
        record(fault.status)
        const error =
          fault.status === 429
            ? {
                type: 'invalid_request_error',
                code: 'rate_limit',
                message: 'Too many requests hit the API too quickly.',
              }
            : { type: 'api_error', message: 'An unknown error occurred.' }
        return Response.json({ error }, { status: fault.status })
      }
      record(402)
      return Response.json(
        {
          error: {
            type: 'card_error',
            code: 'card_declined',
            decline_code: fault.declineCode ?? 'generic_decline',
            message: 'Your card was declined.',
          },
        },
        { status: 402 },
      )
    }
    return this.dispatch(request, url, body, params, idempotencyKey, record)
  }

  /** Replays a POST with a seen idempotency key (refusing other parameters), else runs the route. */
  private dispatch(
    request: Request,
    url: URL,
    body: string,
    params: Json,
    idempotencyKey: string | null,
    record: (status: number) => void,
  ): Response {
    // Stripe replays a POST with a seen idempotency key, and refuses one with other parameters.
    const replayKey =
      request.method === 'POST' && idempotencyKey ? `${url.pathname}\u0000${idempotencyKey}` : null
    if (replayKey) {
      const seen = this.idempotent.get(replayKey)
      if (seen) {
        if (seen.params !== body) {
          record(400)
          return Response.json(
            {
              error: {
                type: 'idempotency_error',
                message: `Keys for idempotent requests can only be used with the same parameters they were first used with.`,
              },
            },
            { status: 400 },
          )
        }
        record(seen.status)
        return new Response(seen.body, {
          status: seen.status,
          headers: { 'content-type': 'application/json', 'idempotent-replayed': 'true' },
        })
      }
    }
    let status = 200
    let payload: string
    try {
      const route = this.routes.find((r) => r.method === request.method && r.pattern.test(url.pathname))
      if (!route)
        throw new StripeHttpError(404, {
          error: {
            type: 'invalid_request_error',
            message: `Unrecognized request URL (${request.method}: ${url.pathname}).`,
          },
        })
      const result = route.handle(route.pattern.exec(url.pathname) as RegExpExecArray, params, this)
      if (result instanceof Response) {
        record(result.status)
        return result
      }
      payload = JSON.stringify(result)
    } catch (error) {
      if (!(error instanceof StripeHttpError)) throw error
      status = error.status
      payload = JSON.stringify(error.bodyFor(`req_${this.counter}`))
    }
    if (replayKey && status < 500) this.idempotent.set(replayKey, { params: body, status, body: payload })
    record(status)
    return new Response(payload, {
      status,
      headers: { 'content-type': 'application/json', 'request-id': `req_${this.counter}` },
    })
  }

  private addCoreRoutes() {
    this.route('POST', /^\/v1\/customers$/, (_, p) => this.createCustomer(p))
    this.route('GET', /^\/v1\/customers\/([^/]+)$/, (m) => {
      const c = this.customers.get(m[1] as string)
      if (!c) throw missing('customer', m[1] as string)
      return c.deleted ? fromFixture('deleted_customer', { id: c.id }) : c
    })
    this.route('POST', /^\/v1\/customers\/([^/]+)$/, (m, p) => {
      const c = this.customers.get(m[1] as string)
      if (!c || c.deleted) throw missing('customer', m[1] as string)
      if (p.email !== undefined) c.email = p.email
      if (p.invoice_settings?.default_payment_method !== undefined)
        c.invoice_settings.default_payment_method = p.invoice_settings.default_payment_method || null
      if (p.metadata) c.metadata = { ...c.metadata, ...p.metadata }
      return c
    })
    this.route('DELETE', /^\/v1\/customers\/([^/]+)$/, (m) => {
      const c = this.customers.get(m[1] as string)
      if (!c || c.deleted) throw missing('customer', m[1] as string)
      c.deleted = true
      // Stripe cancels a deleted customer's subscriptions at once.
      for (const s of this.subscriptions.values())
        if (s.customer === c.id && s.status !== 'canceled') {
          s.status = 'canceled'
          s.canceled_at = this.nowSeconds()
          s.ended_at = s.canceled_at
        }
      return fromFixture('deleted_customer', { id: c.id })
    })
    this.route('GET', /^\/v1\/prices\/([^/]+)$/, (m) => this.priceObject(m[1] as string))
    this.route('GET', /^\/v1\/balance$/, () => fromFixture('balance', {}))
    this.route('POST', /^\/v1\/subscriptions$/, (_, p) => this.createSubscription(p))
    this.route('GET', /^\/v1\/subscriptions$/, (_, p) => {
      const matching = [...this.subscriptions.values()]
        .filter((s) => !p.customer || s.customer === p.customer)
        .filter((s) =>
          p.status === 'all' ? true : p.status ? s.status === p.status : s.status !== 'canceled',
        )
      return stripeList(matching, p, '/v1/subscriptions')
    })
    this.route('GET', /^\/v1\/subscriptions\/([^/]+)$/, (m) => {
      const s = this.subscriptions.get(m[1] as string)
      if (!s) throw missing('subscription', m[1] as string)
      return s
    })
    this.route('POST', /^\/v1\/subscriptions\/([^/]+)$/, (m, p) => {
      const s = this.subscriptions.get(m[1] as string)
      if (!s) throw missing('subscription', m[1] as string)
      if (s.status === 'canceled')
        throw invalid('A canceled subscription can only update its cancellation_details and metadata.')
      if (p.cancel_at_period_end !== undefined) s.cancel_at_period_end = p.cancel_at_period_end === 'true'
      const change = (p.items as Json[] | undefined)?.[0]
      if (change) {
        const item = s.items.data.find((i: Json) => !change.id || i.id === change.id)
        if (!item) throw invalid(`Invalid subscription item: ${change.id}`, 'items[0][id]')
        const price = change.price ?? item.price.id
        if (!PRICES[price]) throw missing('price', price)
        this.prorations.push({
          subscription: s.id,
          fromQuantity: item.quantity,
          toQuantity: change.quantity !== undefined ? Number(change.quantity) : item.quantity,
          fromPrice: item.price.id,
          toPrice: price,
          behavior: p.proration_behavior ?? 'create_prorations',
        })
        if (change.quantity !== undefined) item.quantity = Number(change.quantity)
        if (price !== item.price.id) {
          item.price = this.priceObject(price)
          item.plan = this.planObject(price)
        }
      }
      if (p.metadata) s.metadata = { ...s.metadata, ...p.metadata }
      if (p.default_payment_method !== undefined) s.default_payment_method = p.default_payment_method
      return s
    })
    this.route('DELETE', /^\/v1\/subscriptions\/([^/]+)$/, (m) => {
      const s = this.subscriptions.get(m[1] as string)
      if (!s) throw missing('subscription', m[1] as string)
      if (s.status !== 'canceled') {
        s.status = 'canceled'
        s.canceled_at = this.nowSeconds()
        s.ended_at = s.canceled_at
      }
      return s
    })
  }
}

export const startStripeEmulator = () => new StripeEmulator().start()
