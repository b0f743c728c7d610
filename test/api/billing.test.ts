import { describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { one } from '../../db/query'
import { users } from '../../db/tables'
import { DAY } from '../../src/lib/clock'
import {
  addCard,
  appRow,
  type BillingTestApp,
  billingAppsPerTest,
  createAppFor,
  deployThroughApi,
  mirrorOf,
  stripeSubscriptionOf,
} from '../support/billing'
import { expectApiError } from '../support/envelopes'
import { createTestApp, TEST_PUBLIC_URL, type TestUser } from '../support/harness'
import { VALID_PAGES } from '../support/page-fixtures'
import { completeCheckout } from '../support/stripe-emulator-billing'

const billingApp = billingAppsPerTest()

const post = (
  b: BillingTestApp,
  u: TestUser,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) => b.t.json('POST', path, { token: u.apiKey, ...(body === undefined ? {} : { body }), headers })

const deploy = deployThroughApi

const userRow = async (b: BillingTestApp, u: TestUser) =>
  await one(b.t.store.orm.select().from(users).where(eq(users.id, u.user.id)))

describe('billing disabled', () => {
  it('answers 403 FORBIDDEN on every billing route, and deploys for free', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const u = await t.createUser()
    const appId = (await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Free' } })).body
      .appId
    const routes: [string, string, unknown?][] = [
      ['POST', `/api/apps/${appId}/create-subscription`, { plan: 'monthly' }],
      ['POST', `/api/apps/${appId}/checkout-session`, { plan: 'monthly' }],
      ['POST', `/api/apps/${appId}/verify-checkout`, { sessionId: 'cs_test_1' }],
      ['POST', '/api/cancel-subscription'],
      ['POST', '/api/reactivate-subscription'],
      ['POST', '/api/change-plan', { plan: 'yearly' }],
      ['POST', '/api/setup-intent'],
      ['PUT', '/api/payment-method', { paymentMethodId: 'pm_card_visa' }],
      ['POST', '/api/billing-portal'],
      ['GET', '/api/invoices'],
      ['POST', '/api/webhooks/stripe', {}],
    ]
    for (const [method, path, body] of routes) {
      const r = await t.json(method, path, {
        token: u.apiKey,
        ...(body === undefined ? {} : { body }),
        headers: path.includes('webhooks') ? { 'stripe-signature': 't=1,v1=x' } : {},
      })
      expect({ path, status: r.status }).toEqual({ path, status: 403 })
      expectApiError(r.body, 'FORBIDDEN')
      expect(r.body.error.message).toContain('not enabled')
    }
    await t.json('PUT', `/api/apps/${appId}/policy`, { token: u.apiKey, body: VALID_PAGES.policy })
    expect((await t.json('POST', `/api/apps/${appId}/deploy`, { token: u.apiKey })).status).toBe(200)
    t.close()
  })
})

describe('the life of a subscription', () => {
  it('trial → active → add seat → change plan → cancel → reactivate → remove seats → cancelled', async () => {
    const b = billingApp()
    const u = await b.t.createUser()
    const first = await createAppFor(b, u, 'First')
    const second = await createAppFor(b, u, 'Second')

    // Trial: the first subscription needs no card.
    const started = await post(b, u, `/api/apps/${first}/create-subscription`, { plan: 'monthly' })
    expect(started.status).toBe(200)
    expect(started.body).toEqual({ subscriptionId: expect.stringMatching(/^sub_/), status: 'active' })
    let sub = (await stripeSubscriptionOf(b, u)) as any
    expect(sub.id).toBe(started.body.subscriptionId)
    expect(sub.status).toBe('trialing')
    expect(sub.trial_end).toBe(Math.floor(b.t.clock.now() / 1000) + 30 * 86_400)
    expect(sub.items.data[0]).toMatchObject({ quantity: 1, price: { id: 'price_monthly' } })
    expect(sub.metadata).toMatchObject({ userId: u.user.id, appId: first })
    const customer = b.em.customers.get((await userRow(b, u))?.stripeCustomerId as string)
    expect(customer).toMatchObject({ email: u.user.email, metadata: { userId: u.user.id } })
    expect((await userRow(b, u))?.trialUsedAt).toBe(b.t.clock.now())
    expect((await appRow(b, first))?.seat).toBe(true)
    expect((await b.t.json('GET', '/api/status', { token: u.apiKey })).body).toEqual({
      subscription: 'active',
      planType: 'monthly',
      appCount: 2,
      hasPaymentMethod: false,
      hasApps: true,
    })

    // A card, then the trial ends and Stripe tells us.
    await addCard(b, u)
    expect(customer?.invoice_settings.default_payment_method).toMatch(/^pm_/)
    expect((await b.t.json('GET', '/api/account', { token: u.apiKey })).body.paymentMethod).toEqual({
      id: customer?.invoice_settings.default_payment_method,
      brand: 'visa',
      last4: '4242',
      expMonth: 12,
      expYear: 2034,
    })
    sub.status = 'active'
    sub.trial_end = null
    const { deliver } = await import('../support/billing')
    expect((await deliver(b, b.em.event('customer.subscription.updated', sub))).body.outcome).toBe(
      'processed',
    )
    expect((await mirrorOf(b, u))?.status).toBe('active')

    // Deploying the first app uses its seat; the second adds one, prorated.
    expect((await deploy(b, u, first)).status).toBe(200)
    expect(sub.items.data[0].quantity).toBe(1)
    expect(b.em.prorations).toEqual([])
    expect((await deploy(b, u, second)).status).toBe(200)
    expect(sub.items.data[0].quantity).toBe(2)
    expect(b.em.prorations).toEqual([
      expect.objectContaining({ fromQuantity: 1, toQuantity: 2, behavior: 'create_prorations' }),
    ])
    expect((await mirrorOf(b, u))?.quantity).toBe(2)
    const account = (await b.t.json('GET', '/api/account', { token: u.apiKey })).body
    expect(account.subscription).toMatchObject({
      id: sub.id,
      status: 'active',
      planType: 'monthly',
      quantity: 2,
    })
    expect(account.stats).toEqual({ appCount: 2, subscribedSites: 2, activeSubscriptions: 2 })
    expect(account.subscriptions.map((s: any) => s.appId)).toEqual([first, second])

    // Change plan, prorated; the same plan again is refused.
    const changed = await post(b, u, '/api/change-plan', { plan: 'yearly' })
    expect(changed.body).toEqual({
      planType: 'yearly',
      currentPeriodEnd: sub.items.data[0].current_period_end,
    })
    expect(sub.items.data[0]).toMatchObject({ quantity: 2, price: { id: 'price_yearly' } })
    expect(b.em.prorations.at(-1)).toMatchObject({ fromPrice: 'price_monthly', toPrice: 'price_yearly' })
    const same = await post(b, u, '/api/change-plan', { plan: 'yearly' })
    expect(same.status).toBe(400)
    expectApiError(same.body, 'SAME_PLAN')

    // Cancel at period end; again is refused; so is a plan change while cancelling.
    const canceled = await post(b, u, '/api/cancel-subscription')
    expect(canceled.body).toEqual({
      status: 'active',
      cancelAtPeriodEnd: true,
      currentPeriodEnd: sub.items.data[0].current_period_end,
    })
    expect(sub.cancel_at_period_end).toBe(true)
    expectApiError((await post(b, u, '/api/cancel-subscription')).body, 'ALREADY_CANCELING')
    expectApiError((await post(b, u, '/api/change-plan', { plan: 'monthly' })).body, 'SUBSCRIPTION_CANCELING')

    // Reactivate; again is refused.
    expect((await post(b, u, '/api/reactivate-subscription')).body).toEqual({
      status: 'active',
      cancelAtPeriodEnd: false,
    })
    expect(sub.cancel_at_period_end).toBe(false)
    expectApiError((await post(b, u, '/api/reactivate-subscription')).body, 'NOT_CANCELING')

    // Remove the seats: the last one cancels the subscription and keeps the card.
    expect((await b.t.request('DELETE', `/api/apps/${second}`, { token: u.apiKey })).status).toBe(204)
    expect(sub.items.data[0].quantity).toBe(1)
    expect(sub.status).toBe('active')
    expect((await b.t.request('DELETE', `/api/apps/${first}`, { token: u.apiKey })).status).toBe(204)
    sub = b.em.subscriptions.get(sub.id)
    expect(sub.status).toBe('canceled')
    expect(customer?.deleted).toBeUndefined()
    expect(customer?.invoice_settings.default_payment_method).toMatch(/^pm_/)
    expect((await b.t.json('GET', '/api/status', { token: u.apiKey })).body).toMatchObject({
      subscription: 'canceled',
      hasPaymentMethod: true,
      appCount: 0,
    })
    for (const [path, body] of [
      ['/api/cancel-subscription', undefined],
      ['/api/reactivate-subscription', undefined],
      ['/api/change-plan', { plan: 'monthly' }],
    ] as const) {
      const r = await post(b, u, path, body)
      expect({ path, status: r.status }).toEqual({ path, status: 400 })
      expectApiError(r.body, 'NO_ACTIVE_SUBSCRIPTION')
    }

    // Without a subscription a new app cannot be published, and nothing is.
    const third = await createAppFor(b, u, 'Third')
    const refused = await deploy(b, u, third)
    expect(refused.status).toBe(402)
    expectApiError(refused.body, 'SUBSCRIPTION_REQUIRED')
    expect(await appRow(b, third)).toMatchObject({ deployed: false, seat: false })
    const slug = (await b.t.json('GET', `/api/apps/${third}`, { token: u.apiKey })).body.site.slug
    expect((await b.t.request('GET', `/sites/${slug}/privacy`)).status).toBe(404)

    // A second subscription has no trial and charges the card on file at once.
    const again = await post(b, u, `/api/apps/${third}/create-subscription`, { plan: 'yearly' })
    expect(again.status).toBe(200)
    const second_sub = b.em.subscriptions.get(again.body.subscriptionId) as any
    expect(second_sub).toMatchObject({ status: 'active', trial_end: null })
    expect(b.em.invoices.get(second_sub.latest_invoice)).toMatchObject({ amount_due: 5000, status: 'paid' })
    expect((await deploy(b, u, third)).status).toBe(200)
    expect(second_sub.items.data[0].quantity).toBe(1)

    // Every POST to Stripe carried a key derived from our request, never the SDK's random one.
    const posts = b.em.calls.filter((c) => c.method === 'POST')
    expect(posts.length).toBeGreaterThanOrEqual(10)
    expect(posts.filter((c) => !c.idempotencyKey?.startsWith('custodian-'))).toEqual([])
  })

  it('starts through Stripe Checkout: verify-checkout finalises, and only for its own user and app', async () => {
    const b = billingApp()
    const u = await b.t.createUser()
    const other = await b.t.createUser()
    const appId = await createAppFor(b, u)
    const session = await post(b, u, `/api/apps/${appId}/checkout-session`, {
      plan: 'yearly',
      successUrl: 'https://example.com/done',
    })
    expect(session.status).toBe(200)
    expect(session.body).toEqual({
      url: expect.stringMatching(/^https:\/\/checkout\.stripe\.test\//),
      sessionId: expect.stringMatching(/^cs_test_/),
    })
    const stored = b.em.checkoutSessions.get(session.body.sessionId) as any
    expect(stored).toMatchObject({
      success_url: 'https://example.com/done',
      metadata: { userId: u.user.id, appId },
    })
    expect(stored.cancel_url).toBe(`${TEST_PUBLIC_URL}/?checkout=canceled`)
    const early = await post(b, u, `/api/apps/${appId}/verify-checkout`, {
      sessionId: session.body.sessionId,
    })
    expect(early.status).toBe(400)
    expectApiError(early.body, 'PAYMENT_ERROR')

    completeCheckout(b.em, session.body.sessionId)
    const otherApp = await createAppFor(b, other)
    for (const [who, app] of [
      [other, otherApp],
      [u, otherApp],
    ] as const) {
      const r = await post(b, who, `/api/apps/${app}/verify-checkout`, { sessionId: session.body.sessionId })
      expect(r.status).toBe(404)
      expectApiError(r.body, 'NOT_FOUND')
    }
    const verified = await post(b, u, `/api/apps/${appId}/verify-checkout`, {
      sessionId: session.body.sessionId,
    })
    expect(verified.status).toBe(200)
    expect(verified.body).toMatchObject({
      status: 'active',
      planType: 'yearly',
      quantity: 1,
      cancelAtPeriodEnd: false,
    })
    expect((await appRow(b, appId))?.seat).toBe(true)
    expect((await mirrorOf(b, u))?.stripeSubscriptionId).toBe(stored.subscription)
    // Verifying twice changes nothing.
    expect(
      (await post(b, u, `/api/apps/${appId}/verify-checkout`, { sessionId: session.body.sessionId })).body,
    ).toEqual(verified.body)
    const exists = await post(b, u, `/api/apps/${appId}/checkout-session`, { plan: 'monthly' })
    expect(exists.status).toBe(400)
    expectApiError(exists.body, 'SUBSCRIPTION_EXISTS')
  })
})

describe('billing errors', () => {
  it('SUBSCRIPTION_EXISTS, NO_PAYMENT_METHOD and validation of plan and app', async () => {
    const b = billingApp({ STRIPE_TRIAL_DAYS: '0' })
    const u = await b.t.createUser()
    const other = await b.t.createUser()
    const appId = await createAppFor(b, u)
    const noCard = await post(b, u, `/api/apps/${appId}/create-subscription`, { plan: 'monthly' })
    expect(noCard.status).toBe(400)
    expectApiError(noCard.body, 'NO_PAYMENT_METHOD')
    expect(b.em.subscriptions.size).toBe(0)
    for (const body of [{}, { plan: 'weekly' }, { plan: 'MONTHLY' }]) {
      const r = await post(b, u, `/api/apps/${appId}/create-subscription`, body)
      expect({ body, status: r.status }).toEqual({ body, status: 400 })
      expectApiError(r.body, 'VALIDATION_FAILED')
    }
    const foreign = await post(b, other, `/api/apps/${appId}/create-subscription`, { plan: 'monthly' })
    expect(foreign.status).toBe(404)
    await addCard(b, u)
    expect((await post(b, u, `/api/apps/${appId}/create-subscription`, { plan: 'monthly' })).status).toBe(200)
    const twice = await post(b, u, `/api/apps/${appId}/create-subscription`, { plan: 'monthly' })
    expect(twice.status).toBe(400)
    expectApiError(twice.body, 'SUBSCRIPTION_EXISTS')
    expect(b.em.subscriptions.size).toBe(1)
  })

  it('GET /api/status follows every billing change at once (its answers are cached per user)', async () => {
    const b = billingApp({ STRIPE_TRIAL_DAYS: '0' })
    const u = await b.t.createUser()
    const status = async () => (await b.t.json('GET', '/api/status', { token: u.apiKey })).body
    expect(await status()).toEqual({
      subscription: 'none',
      planType: null,
      appCount: 0,
      hasPaymentMethod: false,
      hasApps: false,
    })
    await addCard(b, u)
    expect((await status()).hasPaymentMethod).toBe(true)
    const appId = await createAppFor(b, u)
    expect(await status()).toMatchObject({ appCount: 1, hasApps: true })
    expect((await post(b, u, `/api/apps/${appId}/create-subscription`, { plan: 'yearly' })).status).toBe(200)
    expect(await status()).toMatchObject({ subscription: 'active', planType: 'yearly' })
    expect((await post(b, u, '/api/cancel-subscription')).status).toBe(200)
    expect((await status()).subscription).toBe((await mirrorOf(b, u))?.status)
  })

  it('CARD_ERROR with Stripe’s message, when attaching and when charging; PAYMENT_ERROR for an unknown card', async () => {
    const b = billingApp({ STRIPE_TRIAL_DAYS: '0' })
    const u = await b.t.createUser()
    const declined = await b.t.json('PUT', '/api/payment-method', {
      token: u.apiKey,
      body: { paymentMethodId: 'pm_card_chargeDeclined' },
    })
    expect(declined.status).toBe(400)
    expectApiError(declined.body, 'CARD_ERROR')
    expect(declined.body.error.message).toBe('Your card was declined.')
    expect((await userRow(b, u))?.paymentMethod).toBeNull()
    const unknown = await b.t.json('PUT', '/api/payment-method', {
      token: u.apiKey,
      body: { paymentMethodId: 'pm_does_not_exist' },
    })
    expect(unknown.status).toBe(400)
    expectApiError(unknown.body, 'PAYMENT_ERROR')

    await addCard(b, u, 'pm_card_chargeCustomerFail')
    const appId = await createAppFor(b, u)
    const charge = await post(b, u, `/api/apps/${appId}/create-subscription`, { plan: 'monthly' })
    expect(charge.status).toBe(400)
    expectApiError(charge.body, 'CARD_ERROR')
    expect(charge.body.error.message).toBe('Your card was declined.')
    expect(b.em.subscriptions.size).toBe(0)
    expect(await mirrorOf(b, u)).toBeUndefined()
    expect((await appRow(b, appId))?.seat).toBe(false)
  })

  it('setup intents, the billing portal (NO_STRIPE_CUSTOMER first) and invoices', async () => {
    const b = billingApp()
    const u = await b.t.createUser()
    const portal = await post(b, u, '/api/billing-portal')
    expect(portal.status).toBe(404)
    expectApiError(portal.body, 'NO_STRIPE_CUSTOMER')
    expect((await b.t.json('GET', '/api/invoices', { token: u.apiKey })).body).toEqual({ invoices: [] })
    expect(b.em.calls).toHaveLength(0)

    const intent = await post(b, u, '/api/setup-intent')
    expect(intent.status).toBe(201)
    expect(intent.body).toEqual({ clientSecret: expect.stringMatching(/^seti_.+_secret_/) })
    expect(b.em.customers.size).toBe(1) // created on the first billing action
    const customerId = (await userRow(b, u))?.stripeCustomerId as string
    expect([...b.em.setupIntents.values()][0]).toMatchObject({ customer: customerId, usage: 'off_session' })
    // A second setup intent reuses the customer.
    await post(b, u, '/api/setup-intent')
    expect(b.em.customers.size).toBe(1)

    const session = await post(b, u, '/api/billing-portal')
    expect(session.body).toEqual({ url: expect.stringMatching(/^https:\/\/billing\.stripe\.test\//) })
    expect([...b.em.portalSessions.values()][0]).toMatchObject({
      customer: customerId,
      return_url: `${TEST_PUBLIC_URL}/`,
    })

    for (let i = 0; i < 30; i++) {
      b.t.clock.advance(DAY)
      b.em.createInvoice(customerId, null, 500 + i, { description: `Invoice ${i}` })
    }
    const invoices = (await b.t.json('GET', '/api/invoices', { token: u.apiKey })).body.invoices
    expect(invoices).toHaveLength(24)
    expect(invoices[0]).toEqual({
      id: expect.stringMatching(/^in_/),
      number: expect.stringMatching(/^EMU-/),
      amount: 529,
      currency: 'usd',
      status: 'paid',
      created: Math.floor(b.t.clock.now() / 1000),
      pdfUrl: expect.stringMatching(/^https:/),
      hostedUrl: expect.stringMatching(/^https:/),
      description: 'Invoice 29',
    })
    expect(invoices.map((i: any) => i.created)).toEqual(
      [...invoices.map((i: any) => i.created)].sort((x: number, y: number) => y - x),
    )
  })
})
