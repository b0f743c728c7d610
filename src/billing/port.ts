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

export interface BillingSubscription {
  id: string
  customerId: string
  status: string
  cancelAtPeriodEnd: boolean
  /** Epoch seconds. */
  currentPeriodEnd: number | null
  quantity: number
  priceId: string | null
  trialEnd: number | null
}

/** Subscription states that can no longer bill anybody. */
export const TERMINAL_SUBSCRIPTION_STATUSES = ['canceled', 'incomplete_expired'] as const
export const isTerminal = (status: string) =>
  (TERMINAL_SUBSCRIPTION_STATUSES as readonly string[]).includes(status)

export interface BillingPort {
  /** Every subscription of the customer, whatever its status; [] when the customer is gone. */
  listSubscriptions(customerId: string): Promise<BillingSubscription[]>
  /** Cancels at once (no proration). `missing` when Stripe no longer knows it. */
  cancelSubscriptionNow(subscriptionId: string, idempotencyKey: string): Promise<'canceled' | 'missing'>
  /** Sets or clears cancellation at period end. */
  setCancelAtPeriodEnd(
    subscriptionId: string,
    cancel: boolean,
    idempotencyKey: string,
  ): Promise<BillingSubscription | 'missing'>
  /** Deletes the customer. `missing` when it is already gone. */
  deleteCustomer(customerId: string): Promise<'deleted' | 'missing'>
}
