import type Stripe from 'stripe'
import type {
  BillingEvent,
  BillingInvoice,
  BillingPort,
  BillingSubscription,
  CardSummary,
  CheckoutSession,
  NewCheckoutSession,
  NewSubscription,
} from './port'
import { BillingError, WebhookSignatureError } from './port'

export interface StripeAdapterOptions {
  secretKey: string
  /** `STRIPE_API_BASE`, e.g. `http://127.0.0.1:12111` for an emulator. @default Stripe's API */
  apiBase?: string | null
  /** Per-request timeout. @default 10000 */
  timeoutMs?: number
  /** SDK retries on connection errors, 409, 5xx. @default 2 */
  maxNetworkRetries?: number
  /** Called for every failed Stripe call (metrics). @default undefined */
  onError?: (kind: string) => void
}

/** The Stripe API version the adapter is written for; the SDK sends it with every request. */
export const STRIPE_API_VERSION = '2026-10-28.endive'

/**
 * The SDK is loaded when billing is configured, not at every start (its evaluation was a tenth of
 * the binary's start-up, and billing is optional).
 */
function stripeSdk(): typeof Stripe {
  const sdk = require('stripe') as typeof Stripe | { default: typeof Stripe }
  return 'default' in sdk ? sdk.default : sdk
}

export function createStripeClient(options: StripeAdapterOptions): Stripe {
  const base = options.apiBase ? new URL(options.apiBase) : null
  const StripeClient = stripeSdk()
  return new StripeClient(options.secretKey, {
    // Pinned: the adapter is written for this version's objects (docs/api.md, "Billing").
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: options.timeoutMs ?? 10_000,
    telemetry: false,
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === 'https:' ? 443 : 80),
          protocol: base.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  })
}

/** Maps an SDK error to the port's error kinds; a missing resource is reported as null. */
export function toBillingError(error: unknown): BillingError | null {
  if (error instanceof BillingError) return error
  const e = error as { type?: string; code?: string; message?: string; statusCode?: number }
  if (e?.code === 'resource_missing') return null
  const message = e?.message ?? String(error)
  switch (e?.type) {
    case 'StripeCardError':
      return new BillingError('card', message, e.code ?? null)
    case 'StripeInvalidRequestError':
    case 'StripePermissionError':
    case 'StripeIdempotencyError':
      return new BillingError('refused', message, e.code ?? null)
    case 'StripeAuthenticationError':
      return new BillingError('refused', 'Stripe refused our API key.', e.code ?? null)
    default:
      // Connection errors, timeouts, rate limits and Stripe's own failures after the SDK's retries.
      return new BillingError('unavailable', message, e?.code ?? null)
  }
}

const idOf = (value: string | { id: string } | null | undefined) =>
  value === null || value === undefined ? null : typeof value === 'string' ? value : value.id

export const subscriptionView = (s: Stripe.Subscription): BillingSubscription => {
  // In STRIPE_API_VERSION the billing period lives on the subscription item (it left the
  // subscription in 2025-03-31.basil): only documented fields are read.
  const item = s.items?.data?.[0]
  const periodEnd = item?.current_period_end
  return {
    id: s.id,
    customerId: idOf(s.customer) as string,
    status: s.status,
    cancelAtPeriodEnd: s.cancel_at_period_end,
    currentPeriodEnd: periodEnd ?? null,
    quantity: item?.quantity ?? 1,
    priceId: item?.price?.id ?? null,
    itemId: item?.id ?? null,
    trialEnd: s.trial_end ?? null,
    metadata: (s.metadata ?? {}) as Record<string, string>,
  }
}

const checkoutView = (c: Stripe.Checkout.Session): CheckoutSession => ({
  id: c.id,
  url: c.url ?? null,
  status: (c.status ?? 'open') as CheckoutSession['status'],
  customerId: idOf(c.customer as string | { id: string } | null),
  subscriptionId: idOf(c.subscription as string | { id: string } | null),
  metadata: (c.metadata ?? {}) as Record<string, string>,
})

const invoiceView = (i: Stripe.Invoice): BillingInvoice => ({
  id: i.id as string,
  number: i.number ?? null,
  amount: i.amount_due,
  currency: i.currency,
  status: i.status ?? null,
  created: i.created,
  pdfUrl: i.invoice_pdf ?? null,
  hostedUrl: i.hosted_invoice_url ?? null,
  description: i.description ?? null,
})

/** The subscription an invoice belongs to (`parent.subscription_details` since API 2025-03). */
const invoiceSubscription = (i: Stripe.Invoice): string | null =>
  idOf(
    i.parent?.subscription_details?.subscription ??
      (i as unknown as { subscription?: string | { id: string } | null }).subscription,
  )

/** The billing port over the official SDK. */
/** A bound on the pages read (10,000 subscriptions): no real customer comes near it. */
const MAX_SUBSCRIPTIONS_LISTED = 10_000

export class StripeBilling implements BillingPort {
  readonly stripe: Stripe

  constructor(private readonly options: StripeAdapterOptions) {
    this.stripe = createStripeClient(options)
  }

  /** Runs an SDK call; a `resource_missing` answer becomes `missing`. */
  protected async call<T>(fn: () => Promise<T>): Promise<T | 'missing'> {
    try {
      return await fn()
    } catch (error) {
      const mapped = toBillingError(error)
      if (!mapped) return 'missing'
      this.options.onError?.(mapped.kind)
      throw mapped
    }
  }

  /** A call whose object must exist (a `missing` answer is Stripe refusing us). */
  protected async must<T>(fn: () => Promise<T>): Promise<T> {
    const result = await this.call(fn)
    if (result === 'missing')
      throw new BillingError('refused', 'Stripe does not know this object.', 'resource_missing')
    return result
  }

  async listSubscriptions(customerId: string): Promise<BillingSubscription[]> {
    // IMPORTANT: every page. Erasure must stop every subscription of a customer, not the first 100.
    const all = await this.call(() =>
      this.stripe.subscriptions
        .list({ customer: customerId, status: 'all', limit: 100 })
        .autoPagingToArray({ limit: MAX_SUBSCRIPTIONS_LISTED }),
    )
    return all === 'missing' ? [] : all.map(subscriptionView)
  }

  async retrieveSubscription(subscriptionId: string) {
    const result = await this.call(() => this.stripe.subscriptions.retrieve(subscriptionId))
    return result === 'missing' ? 'missing' : subscriptionView(result)
  }

  async cancelSubscriptionNow(
    subscriptionId: string,
    idempotencyKey: string,
    options: { prorate?: boolean } = {},
  ) {
    const result = await this.call(() =>
      this.stripe.subscriptions.cancel(
        subscriptionId,
        { prorate: options.prorate ?? false },
        { idempotencyKey },
      ),
    )
    return result === 'missing' ? 'missing' : 'canceled'
  }

  async setCancelAtPeriodEnd(subscriptionId: string, cancel: boolean, idempotencyKey: string) {
    const result = await this.call(() =>
      this.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: cancel }, { idempotencyKey }),
    )
    return result === 'missing' ? 'missing' : subscriptionView(result)
  }

  async checkCredentials(): Promise<'ok' | 'refused' | 'unreachable'> {
    try {
      await this.stripe.balance.retrieve()
      return 'ok'
    } catch (error) {
      const type = (error as { type?: string }).type
      return type === 'StripeAuthenticationError' || type === 'StripePermissionError'
        ? 'refused'
        : 'unreachable'
    }
  }

  async deleteCustomer(customerId: string, idempotencyKey: string) {
    const result = await this.call(() => this.stripe.customers.del(customerId, {}, { idempotencyKey }))
    return result === 'missing' ? 'missing' : 'deleted'
  }

  async createCustomer(email: string, metadata: Record<string, string>, idempotencyKey: string) {
    const customer = await this.must(() =>
      this.stripe.customers.create({ email, metadata }, { idempotencyKey }),
    )
    return customer.id
  }

  async createSubscription(input: NewSubscription, idempotencyKey: string) {
    const created = await this.must(() =>
      this.stripe.subscriptions.create(
        {
          customer: input.customerId,
          items: [{ price: input.priceId, quantity: input.quantity }],
          metadata: input.metadata,
          // A declined card fails the call and creates nothing, instead of leaving an
          // `incomplete` subscription behind.
          payment_behavior: 'error_if_incomplete',
          ...(input.trialDays > 0
            ? {
                trial_period_days: input.trialDays,
                trial_settings: { end_behavior: { missing_payment_method: 'cancel' } },
              }
            : {}),
          expand: ['pending_setup_intent'],
        },
        { idempotencyKey },
      ),
    )
    const pending = created.pending_setup_intent
    const clientSecret = pending && typeof pending !== 'string' ? (pending.client_secret ?? null) : null
    return { subscription: subscriptionView(created), clientSecret }
  }

  async updateSeats(
    subscription: BillingSubscription,
    change: { quantity?: number; priceId?: string },
    idempotencyKey: string,
  ) {
    const result = await this.call(() =>
      this.stripe.subscriptions.update(
        subscription.id,
        {
          items: [
            {
              ...(subscription.itemId ? { id: subscription.itemId } : {}),
              ...(change.quantity !== undefined ? { quantity: change.quantity } : {}),
              ...(change.priceId !== undefined ? { price: change.priceId } : {}),
            },
          ],
          proration_behavior: 'create_prorations',
        },
        { idempotencyKey },
      ),
    )
    return result === 'missing' ? 'missing' : subscriptionView(result)
  }

  async createSetupIntent(customerId: string, idempotencyKey: string) {
    const intent = await this.must(() =>
      this.stripe.setupIntents.create({ customer: customerId, usage: 'off_session' }, { idempotencyKey }),
    )
    return { clientSecret: intent.client_secret as string }
  }

  async setDefaultPaymentMethod(
    customerId: string,
    paymentMethodId: string,
    idempotencyKey: string,
  ): Promise<CardSummary | 'missing'> {
    const method = await this.call(() =>
      this.stripe.paymentMethods.attach(
        paymentMethodId,
        { customer: customerId },
        { idempotencyKey: `${idempotencyKey}-attach` },
      ),
    )
    if (method === 'missing') return 'missing'
    await this.must(() =>
      this.stripe.customers.update(
        customerId,
        { invoice_settings: { default_payment_method: method.id } },
        { idempotencyKey: `${idempotencyKey}-default` },
      ),
    )
    return {
      id: method.id,
      brand: method.card?.brand ?? method.type,
      last4: method.card?.last4 ?? '',
      expMonth: method.card?.exp_month ?? 0,
      expYear: method.card?.exp_year ?? 0,
    }
  }

  async createCheckoutSession(input: NewCheckoutSession, idempotencyKey: string) {
    const session = await this.must(() =>
      this.stripe.checkout.sessions.create(
        {
          mode: 'subscription',
          customer: input.customerId,
          line_items: [{ price: input.priceId, quantity: 1 }],
          success_url: input.successUrl,
          cancel_url: input.cancelUrl,
          metadata: input.metadata,
          subscription_data: {
            metadata: input.metadata,
            ...(input.trialDays > 0 ? { trial_period_days: input.trialDays } : {}),
          },
        },
        { idempotencyKey },
      ),
    )
    return checkoutView(session)
  }

  async retrieveCheckoutSession(sessionId: string) {
    const session = await this.call(() => this.stripe.checkout.sessions.retrieve(sessionId))
    return session === 'missing' ? 'missing' : checkoutView(session)
  }

  async createPortalSession(customerId: string, returnUrl: string, idempotencyKey: string) {
    const session = await this.must(() =>
      this.stripe.billingPortal.sessions.create(
        { customer: customerId, return_url: returnUrl },
        { idempotencyKey },
      ),
    )
    return { url: session.url }
  }

  async listInvoices(customerId: string, limit: number) {
    const page = await this.call(() => this.stripe.invoices.list({ customer: customerId, limit }))
    return page === 'missing' ? [] : page.data.map(invoiceView)
  }

  async parseWebhook(
    payload: string,
    signatureHeader: string,
    secret: string,
    receivedAtMs: number,
  ): Promise<BillingEvent> {
    let event: Stripe.Event
    try {
      // The synchronous constructEvent needs Node's crypto HMAC; under Bun the async one is the
      // supported path (../shared/toolchain.md).
      event = await this.stripe.webhooks.constructEventAsync(
        payload,
        signatureHeader,
        secret,
        undefined,
        undefined,
        receivedAtMs,
      )
    } catch (error) {
      throw new WebhookSignatureError((error as Error).message)
    }
    const object = event.data.object as unknown as Record<string, any>
    const base = { id: event.id, type: event.type, created: event.created, checkoutSession: null }
    switch (object.object) {
      case 'subscription':
        return { ...base, customerId: idOf(object.customer), subscriptionId: object.id }
      case 'invoice':
        return {
          ...base,
          customerId: idOf(object.customer),
          subscriptionId: invoiceSubscription(object as Stripe.Invoice),
        }
      case 'checkout.session': {
        const session = checkoutView(object as Stripe.Checkout.Session)
        return {
          ...base,
          customerId: session.customerId,
          subscriptionId: session.subscriptionId,
          checkoutSession: session,
        }
      }
      default:
        return { ...base, customerId: idOf(object.customer), subscriptionId: null }
    }
  }
}
