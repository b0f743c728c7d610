/**
 * What the product asks of Stripe. Services depend on this interface only; the adapter
 * (stripe-adapter.ts) implements it over the official SDK. `null` where a port is expected means
 * billing is disabled (no STRIPE_SECRET_KEY).
 */

export type BillingErrorKind =
  /** Stripe could not be reached, timed out, or failed on its side (5xx/429 after retries). */
  | 'unavailable'
  /** Stripe refused the request (4xx other than a card error). */
  | 'refused'
  /** A card was declined; the message says why, and may be shown to the user. */
  | 'card'

export class BillingError extends Error {
  override name = 'BillingError'
  constructor(
    readonly kind: BillingErrorKind,
    message: string,
    readonly stripeCode: string | null = null,
  ) {
    super(message)
  }
}

export type PlanType = 'monthly' | 'yearly'

export interface BillingSubscription {
  id: string
  customerId: string
  status: string
  cancelAtPeriodEnd: boolean
  /** Epoch seconds. */
  currentPeriodEnd: number | null
  quantity: number
  priceId: string | null
  /** The subscription item holding the seats (one price per subscription). */
  itemId: string | null
  trialEnd: number | null
  metadata: Record<string, string>
}

/** A card's summary: what the account shows, never the number. */
export interface CardSummary {
  id: string
  brand: string
  last4: string
  expMonth: number
  expYear: number
}

export interface BillingInvoice {
  id: string
  number: string | null
  /** Minor units (cents). */
  amount: number
  currency: string
  status: string | null
  /** Epoch seconds. */
  created: number
  pdfUrl: string | null
  hostedUrl: string | null
  description: string | null
}

export interface CheckoutSession {
  id: string
  url: string | null
  status: 'open' | 'complete' | 'expired'
  customerId: string | null
  subscriptionId: string | null
  metadata: Record<string, string>
}

/** A verified webhook event, reduced to what the product acts on. */
export interface BillingEvent {
  id: string
  type: string
  /** Epoch seconds. */
  created: number
  customerId: string | null
  subscriptionId: string | null
  /** Set for checkout.session.* events. */
  checkoutSession: CheckoutSession | null
}

/** Subscription states that can no longer bill anybody. */
export const TERMINAL_SUBSCRIPTION_STATUSES = ['canceled', 'incomplete_expired'] as const
export const isTerminal = (status: string) =>
  (TERMINAL_SUBSCRIPTION_STATUSES as readonly string[]).includes(status)

export interface NewSubscription {
  customerId: string
  priceId: string
  quantity: number
  /** 0: no trial. */
  trialDays: number
  metadata: Record<string, string>
}

export interface NewCheckoutSession {
  customerId: string
  priceId: string
  trialDays: number
  successUrl: string
  cancelUrl: string
  metadata: Record<string, string>
}

/**
 * Every POST takes an idempotency key: the caller derives it from its own request, so a retried
 * request can never create or change anything twice at Stripe.
 */
export interface BillingPort {
  /** Every subscription of the customer, whatever its status; [] when the customer is gone. */
  listSubscriptions(customerId: string): Promise<BillingSubscription[]>
  retrieveSubscription(subscriptionId: string): Promise<BillingSubscription | 'missing'>
  /** Cancels at once. `missing` when Stripe no longer knows it. */
  cancelSubscriptionNow(
    subscriptionId: string,
    idempotencyKey: string,
    options?: { prorate?: boolean },
  ): Promise<'canceled' | 'missing'>
  /** Sets or clears cancellation at period end. */
  setCancelAtPeriodEnd(
    subscriptionId: string,
    cancel: boolean,
    idempotencyKey: string,
  ): Promise<BillingSubscription | 'missing'>
  /** Deletes the customer. `missing` when it is already gone. */
  /** The idempotency key is derived from the deletion id, so a resumed erasure repeats it safely. */
  deleteCustomer(customerId: string, idempotencyKey: string): Promise<'deleted' | 'missing'>
  /** One harmless authenticated call (the balance): does Stripe accept our key? */
  checkCredentials(): Promise<'ok' | 'refused' | 'unreachable'>

  createCustomer(email: string, metadata: Record<string, string>, idempotencyKey: string): Promise<string>
  /** Charges at once unless trialing; a declined card is a `card` error and creates nothing. */
  createSubscription(
    input: NewSubscription,
    idempotencyKey: string,
  ): Promise<{ subscription: BillingSubscription; clientSecret: string | null }>
  /** Changes the seat item's quantity and/or price, prorated. */
  updateSeats(
    subscription: BillingSubscription,
    change: { quantity?: number; priceId?: string },
    idempotencyKey: string,
  ): Promise<BillingSubscription | 'missing'>
  createSetupIntent(customerId: string, idempotencyKey: string): Promise<{ clientSecret: string }>
  /** Attaches the payment method and makes it the customer's default. */
  setDefaultPaymentMethod(
    customerId: string,
    paymentMethodId: string,
    idempotencyKey: string,
  ): Promise<CardSummary | 'missing'>
  createCheckoutSession(input: NewCheckoutSession, idempotencyKey: string): Promise<CheckoutSession>
  retrieveCheckoutSession(sessionId: string): Promise<CheckoutSession | 'missing'>
  createPortalSession(customerId: string, returnUrl: string, idempotencyKey: string): Promise<{ url: string }>
  listInvoices(customerId: string, limit: number): Promise<BillingInvoice[]>
  /**
   * Verifies Stripe's signature, and that it was made at most 5 minutes before `receivedAtMs`
   * (our clock); throws `WebhookSignatureError` when either does not hold.
   */
  parseWebhook(
    payload: string,
    signatureHeader: string,
    secret: string,
    receivedAtMs: number,
  ): Promise<BillingEvent>
}

export class WebhookSignatureError extends Error {
  override name = 'WebhookSignatureError'
}

/** What the start-up check of STRIPE_SECRET_KEY found (`disabled` without billing). */
export interface BillingHealth {
  state: 'disabled' | 'unchecked' | 'ok' | 'unreachable' | 'refused'
}
