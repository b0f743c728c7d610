import Stripe from 'stripe'
import type { BillingPort, BillingSubscription } from './port'
import { BillingError } from './port'

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

export function createStripeClient(options: StripeAdapterOptions): Stripe {
  const base = options.apiBase ? new URL(options.apiBase) : null
  return new Stripe(options.secretKey, {
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

export const subscriptionView = (s: Stripe.Subscription): BillingSubscription => {
  const item = s.items?.data?.[0]
  const periodEnd =
    (item as { current_period_end?: number } | undefined)?.current_period_end ??
    (s as unknown as { current_period_end?: number }).current_period_end
  return {
    id: s.id,
    customerId: typeof s.customer === 'string' ? s.customer : s.customer.id,
    status: s.status,
    cancelAtPeriodEnd: s.cancel_at_period_end,
    currentPeriodEnd: periodEnd ?? null,
    quantity: item?.quantity ?? 1,
    priceId: item?.price?.id ?? null,
    trialEnd: s.trial_end ?? null,
  }
}

/** The billing port over the official SDK. */
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

  async listSubscriptions(customerId: string): Promise<BillingSubscription[]> {
    const page = await this.call(() =>
      this.stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 100 }),
    )
    return page === 'missing' ? [] : page.data.map(subscriptionView)
  }

  async cancelSubscriptionNow(subscriptionId: string, idempotencyKey: string) {
    const result = await this.call(() =>
      this.stripe.subscriptions.cancel(subscriptionId, { prorate: false }, { idempotencyKey }),
    )
    return result === 'missing' ? 'missing' : 'canceled'
  }

  async setCancelAtPeriodEnd(subscriptionId: string, cancel: boolean, idempotencyKey: string) {
    const result = await this.call(() =>
      this.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: cancel }, { idempotencyKey }),
    )
    return result === 'missing' ? 'missing' : subscriptionView(result)
  }

  async deleteCustomer(customerId: string) {
    const result = await this.call(() => this.stripe.customers.del(customerId))
    return result === 'missing' ? 'missing' : 'deleted'
  }
}
