// The emulator's billing resources beyond customers and subscriptions: payment methods, setup
// intents, Checkout and billing-portal sessions, invoices, and webhook events.
import type { StripeEmulator } from './stripe-emulator'
import { cardError, invalid, type Json, missing, stripeList } from './stripe-emulator-wire'
import { fixtureOf, fromFixture } from './stripe-fixture-objects'

/**
 * Stripe's test payment methods by their magic ids. `pm_card_chargeDeclined` is refused when
 * attached; `pm_card_chargeCustomerFail` attaches but every charge to it fails (as at Stripe).
 */
const TEST_CARDS: Record<
  string,
  { brand: string; last4: string; declinesAttach?: boolean; declinesCharges?: boolean }
> = {
  pm_card_visa: { brand: 'visa', last4: '4242' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444' },
  pm_card_chargeDeclined: { brand: 'visa', last4: '0002', declinesAttach: true },
  pm_card_chargeCustomerFail: { brand: 'visa', last4: '0341', declinesCharges: true },
}

function paymentMethod(em: StripeEmulator, id: string): Json {
  const existing = em.paymentMethods.get(id)
  if (existing) return existing
  const card = TEST_CARDS[id]
  if (!card) throw missing('payment_method', id)
  if (card.declinesAttach) throw cardError('Your card was declined.', 'generic_decline')
  // As at Stripe, a magic id makes a new payment method each time it is used.
  const fixture = fixtureOf('payment_method')
  const method = fromFixture('payment_method', {
    id: em.id('pm'),
    type: 'card',
    customer: null as string | null,
    metadata: {},
    card: {
      ...fixture.card,
      brand: card.brand,
      display_brand: card.brand,
      last4: card.last4,
      exp_month: 12,
      exp_year: 2034,
    },
    created: em.nowSeconds(),
  })
  if (card.declinesCharges) em.decliningCards.add(method.id)
  em.paymentMethods.set(method.id, method)
  return method
}

/**
 * Completes a Checkout session as the customer would: the subscription is created (with the
 * session's trial) and the session marked complete. Returns the `checkout.session.completed` event.
 */
export function completeCheckout(em: StripeEmulator, sessionId: string, card = 'pm_card_visa'): Json {
  const session = em.checkoutSessions.get(sessionId)
  if (!session) throw new Error(`no checkout session ${sessionId}`)
  const customer = em.customers.get(session.customer) as Json
  const method = paymentMethod(em, card)
  method.customer = customer.id
  customer.invoice_settings.default_payment_method = method.id
  const requested = em.checkoutRequests.get(sessionId)
  const subscription = em.createSubscription({
    customer: customer.id,
    items: [{ price: requested?.price, quantity: 1 }],
    metadata: requested?.subscriptionData?.metadata ?? session.metadata,
    trial_period_days: requested?.subscriptionData?.trial_period_days,
  })
  session.status = 'complete'
  session.payment_status = 'paid'
  session.subscription = subscription.id
  return em.event('checkout.session.completed', session)
}

/** The customer a request names, or Stripe's resource_missing answer. */
function liveCustomer(em: StripeEmulator, id: unknown): Json {
  const customer = em.customers.get(String(id))
  if (!customer || customer.deleted) throw missing('customer', String(id))
  return customer
}

export function addBillingRoutes(em: StripeEmulator) {
  em.route('POST', /^\/v1\/payment_methods\/([^/]+)\/attach$/, (m, p) => {
    const customer = liveCustomer(em, p.customer)
    const method = paymentMethod(em, m[1] as string)
    if (method.customer && method.customer !== customer.id)
      throw invalid('This PaymentMethod was previously used without being attached to a Customer.')
    method.customer = customer.id
    return method
  })
  em.route('GET', /^\/v1\/payment_methods\/([^/]+)$/, (m) => {
    const method = em.paymentMethods.get(m[1] as string)
    if (!method) throw missing('payment_method', m[1] as string)
    return method
  })
  em.route('POST', /^\/v1\/setup_intents$/, (_, p) => {
    const customer = liveCustomer(em, p.customer)
    const id = em.id('seti')
    const intent = fromFixture('setup_intent', {
      id,
      customer: customer.id,
      usage: p.usage ?? 'off_session',
      status: 'requires_payment_method',
      client_secret: `${id}_secret_${em.id('x')}`,
      created: em.nowSeconds(),
      description: null,
      metadata: p.metadata ?? {},
      payment_method: null,
      payment_method_types: ['card'],
      next_action: null,
      last_setup_error: null,
      latest_attempt: null,
      mandate: null,
      single_use_mandate: null,
      cancellation_reason: null,
      application: null,
      on_behalf_of: null,
    })
    em.setupIntents.set(id, intent)
    return intent
  })
  em.route('POST', /^\/v1\/checkout\/sessions$/, (_, p) => {
    const customer = liveCustomer(em, p.customer)
    if (p.mode !== 'subscription') throw invalid('Only subscription mode is emulated.', 'mode')
    if (!p.success_url) throw invalid('Missing required param: success_url.', 'success_url')
    const price = p.line_items?.[0]?.price
    if (!price) throw invalid('Missing required param: line_items.', 'line_items')
    const id = `cs_test_${em.id('cs')}`
    const created = em.nowSeconds()
    const session = fromFixture('checkout.session', {
      id,
      mode: 'subscription',
      status: 'open',
      payment_status: 'unpaid',
      customer: customer.id,
      customer_email: null,
      subscription: null as string | null,
      payment_intent: null,
      setup_intent: null,
      invoice: null,
      url: `https://checkout.stripe.test/c/pay/${id}`,
      success_url: p.success_url,
      cancel_url: p.cancel_url ?? null,
      client_reference_id: p.client_reference_id ?? null,
      metadata: p.metadata ?? {},
      created,
      expires_at: created + 86_400,
      currency: 'usd',
    })
    em.checkoutSessions.set(id, session)
    em.checkoutRequests.set(id, { price, subscriptionData: p.subscription_data ?? null })
    return session
  })
  em.route('GET', /^\/v1\/checkout\/sessions\/([^/]+)$/, (m) => {
    const session = em.checkoutSessions.get(m[1] as string)
    if (!session) throw missing('checkout.session', m[1] as string)
    return session
  })
  em.route('POST', /^\/v1\/billing_portal\/sessions$/, (_, p) => {
    const customer = liveCustomer(em, p.customer)
    const id = em.id('bps')
    const session = fromFixture('billing_portal.session', {
      id,
      customer: customer.id,
      return_url: p.return_url ?? null,
      url: `https://billing.stripe.test/p/session/${id}`,
      created: em.nowSeconds(),
      flow: null,
      on_behalf_of: null,
      locale: null,
    })
    em.portalSessions.set(id, session)
    return session
  })
  em.route('GET', /^\/v1\/invoices$/, (_, p) => {
    const all = [...em.invoices.values()].filter((i) => !p.customer || i.customer === p.customer)
    return stripeList(all, p, '/v1/invoices')
  })
}
