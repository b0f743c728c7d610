import { eq } from 'drizzle-orm'
import { subscriptions, users } from '../../db/schema'
import { createTestApp, type TestApp, type TestAppOptions, type TestUser } from './harness'
import { type StripeEmulator, startStripeEmulator } from './stripe-emulator'

export interface BillingTestApp {
  t: TestApp
  em: StripeEmulator
  close(): void
}

/** A test app whose billing port is the real Stripe SDK pointed at a fresh emulator. */
export function createBillingTestApp(options: TestAppOptions & { timeoutMs?: number } = {}): BillingTestApp {
  const em = startStripeEmulator()
  const t = createTestApp({
    ...options,
    env: {
      STRIPE_SECRET_KEY: 'sk_test_emulator',
      STRIPE_API_BASE: em.url,
      STRIPE_TIMEOUT_MS: String(options.timeoutMs ?? 400),
      STRIPE_WEBHOOK_SECRET: 'whsec_test_secret',
      RATE_LIMIT_ENABLED: 'false',
      ...options.env,
    },
  })
  em.now = () => t.clock.now()
  return {
    t,
    em,
    close() {
      em.stop()
      t.close()
    },
  }
}

/**
 * Gives the user a Stripe customer with a live subscription at the emulator, mirrored locally the
 * way billing would have recorded it.
 */
export function giveSubscription(
  b: BillingTestApp,
  u: TestUser,
  status = 'active',
  cancelAtPeriodEnd = false,
) {
  const customer = b.em.createCustomer({ email: u.user.email })
  const sub = b.em.createSubscription({
    customer: customer.id,
    items: [{ price: 'price_monthly', quantity: 1 }],
    status,
  })
  sub.cancel_at_period_end = cancelAtPeriodEnd
  const now = b.t.clock.now()
  b.t.store.orm.update(users).set({ stripeCustomerId: customer.id }).where(eq(users.id, u.user.id)).run()
  b.t.store.orm
    .insert(subscriptions)
    .values({
      id: `subrow_${sub.id}`,
      userId: u.user.id,
      stripeSubscriptionId: sub.id,
      status,
      planType: 'monthly',
      quantity: 1,
      cancelAtPeriodEnd,
      currentPeriodEnd: sub.items.data[0].current_period_end,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoUpdate({
      target: subscriptions.userId,
      set: { stripeSubscriptionId: sub.id, status, cancelAtPeriodEnd },
    })
    .run()
  return { customer, sub }
}
