import { afterEach } from 'bun:test'
import { eq } from 'drizzle-orm'
import Stripe from 'stripe'
import { exec, one } from '../../db/query'
import { apps, subscriptions, users } from '../../db/tables'
import { createTestApp, type TestApp, type TestAppOptions, type TestUser } from './harness'
import { VALID_PAGES } from './page-fixtures'
import { type StripeEmulator, startStripeEmulator } from './stripe-emulator'
import type { Json } from './stripe-emulator-wire'

/** Only for its webhook signing helper; it never calls out. */
const signer = new Stripe('sk_test_signer')

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
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
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
export async function giveSubscription(
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
  await exec(
    b.t.store.orm.update(users).set({ stripeCustomerId: customer.id }).where(eq(users.id, u.user.id)),
  )
  await exec(
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
      }),
  )
  return { customer, sub }
}

export const WEBHOOK_SECRET = 'whsec_test_secret'

/** Posts `event` to the webhook, signed the way Stripe signs (the SDK's own test helper). */
export async function deliver(
  b: BillingTestApp,
  event: Json,
  options: { secret?: string; signature?: string } = {},
) {
  const payload = JSON.stringify(event)
  const signature =
    options.signature ??
    (await signer.webhooks.generateTestHeaderStringAsync({
      payload,
      secret: options.secret ?? WEBHOOK_SECRET,
      timestamp: Math.floor(b.t.clock.now() / 1000),
    }))
  return b.t.json('POST', '/api/webhooks/stripe', {
    rawBody: payload,
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
  })
}

/** Puts a card on file through the API (setup intent, then PUT /api/payment-method). */
export async function addCard(b: BillingTestApp, u: TestUser, card = 'pm_card_visa') {
  const r = await b.t.json('PUT', '/api/payment-method', { token: u.apiKey, body: { paymentMethodId: card } })
  if (r.status !== 200) throw new Error(`adding a card failed: ${r.status} ${r.text}`)
  return r.body.paymentMethodId as string
}

/** Creates an app through the API. */
export async function createAppFor(
  b: BillingTestApp,
  u: TestUser,
  appName = `App ${crypto.randomUUID().slice(0, 8)}`,
) {
  const r = await b.t.json('POST', '/api/apps', { token: u.apiKey, body: { appName } })
  if (r.status !== 201) throw new Error(`creating an app failed: ${r.status} ${r.text}`)
  return r.body.appId as string
}

/** The emulator's subscription for the user's mirrored one. */
export async function stripeSubscriptionOf(b: BillingTestApp, u: TestUser) {
  const row = await one(b.t.store.orm.select().from(subscriptions).where(eq(subscriptions.userId, u.user.id)))
  return row ? b.em.subscriptions.get(row.stripeSubscriptionId) : undefined
}

/**
 * Billing test apps that close after each test: `const billingApp = billingAppsPerTest()` at the
 * top of a test file, then `billingApp(env)` inside tests.
 */
export function billingAppsPerTest() {
  let open: BillingTestApp[] = []
  afterEach(() => {
    for (const b of open) b.close()
    open = []
  })
  return (env: Record<string, string> = {}) => {
    const b = createBillingTestApp({ env })
    open.push(b)
    return b
  }
}

/** The local mirror row of the user's subscription. */
export const mirrorOf = async (b: BillingTestApp, u: TestUser) =>
  await one(b.t.store.orm.select().from(subscriptions).where(eq(subscriptions.userId, u.user.id)))

export const appRow = async (b: BillingTestApp, appId: string) =>
  await one(b.t.store.orm.select().from(apps).where(eq(apps.id, appId)))

/** Saves a policy (something to publish), then deploys through the API. */
export async function deployThroughApi(
  b: BillingTestApp,
  u: TestUser,
  appId: string,
  headers: Record<string, string> = {},
) {
  await b.t.json('PUT', `/api/apps/${appId}/policy`, { token: u.apiKey, body: VALID_PAGES.policy })
  return b.t.json('POST', `/api/apps/${appId}/deploy`, { token: u.apiKey, headers })
}
