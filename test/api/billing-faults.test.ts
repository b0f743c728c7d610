import { describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { many } from '../../db/query'
import { apps } from '../../db/tables'
import {
  addCard,
  appRow,
  type BillingTestApp,
  billingAppsPerTest,
  createAppFor,
  deliver,
  deployThroughApi,
  mirrorOf,
  stripeSubscriptionOf,
} from '../support/billing'
import { expectApiError } from '../support/envelopes'
import type { TestUser } from '../support/harness'
import { VALID_PAGES } from '../support/page-fixtures'

const billingApp = billingAppsPerTest()

const SUBSCRIPTION_CREATE = { method: 'POST', path: /^\/v1\/subscriptions$/ }
const SUBSCRIPTION_UPDATE = { method: 'POST', path: /^\/v1\/subscriptions\/[^/]+$/ }
/** Every attempt the SDK makes (the first and its two retries). */
const ALL_ATTEMPTS = 3

const createSubscription = (b: BillingTestApp, u: TestUser, appId: string, key?: string) =>
  b.t.json('POST', `/api/apps/${appId}/create-subscription`, {
    token: u.apiKey,
    body: { plan: 'monthly' },
    headers: key ? { 'idempotency-key': key } : {},
  })
const deploy = (b: BillingTestApp, u: TestUser, appId: string, key?: string) =>
  deployThroughApi(b, u, appId, key ? { 'idempotency-key': key } : {})
/** A user with two apps whose subscription started with the first as its seat. */
async function subscribedWithTwoApps() {
  const b = billingApp()
  const u = await b.t.createUser()
  const first = await createAppFor(b, u)
  const second = await createAppFor(b, u)
  expect((await createSubscription(b, u, first)).status).toBe(200)
  return { b, u, first, second, sub: (await stripeSubscriptionOf(b, u)) as any }
}

/** Local mirror and Stripe agree on the subscription and its seats. */
async function expectAgreement(b: BillingTestApp, u: TestUser) {
  const row = await mirrorOf(b, u)
  const live = [...b.em.subscriptions.values()].filter((s) => s.status !== 'canceled')
  expect(live).toHaveLength(1)
  expect(row?.stripeSubscriptionId).toBe(live[0]?.id)
  const seats = (await many(b.t.store.orm.select().from(apps).where(eq(apps.userId, u.user.id)))).filter(
    (a) => a.seat,
  ).length
  expect(live[0]?.items.data[0].quantity).toBe(seats)
  expect(row?.quantity).toBe(seats)
}

describe('Stripe failing mid-call', () => {
  it('a create whose answer was lost is replayed by a retry with the same Idempotency-Key: one subscription', async () => {
    const b = billingApp()
    const u = await b.t.createUser()
    const appId = await createAppFor(b, u)
    b.em.failNext(ALL_ATTEMPTS, { kind: 'lost' }, SUBSCRIPTION_CREATE)
    const lost = await createSubscription(b, u, appId, 'start-1')
    expect(lost.status).toBe(502)
    expectApiError(lost.body, 'PAYMENT_ERROR')
    expect(b.em.subscriptions.size).toBe(1) // Stripe did it; we never heard
    expect(await mirrorOf(b, u)).toBeUndefined()
    b.em.recover()
    const retry = await createSubscription(b, u, appId, 'start-1')
    expect(retry.status).toBe(200)
    expect(retry.body.subscriptionId).toBe([...b.em.subscriptions.keys()][0])
    expect(b.em.subscriptions.size).toBe(1)
    expect((await appRow(b, appId))?.seat).toBe(true)
    await expectAgreement(b, u)
  })

  it('without an Idempotency-Key the retry finds the subscription at Stripe: SUBSCRIPTION_EXISTS, mirror repaired', async () => {
    const b = billingApp()
    const u = await b.t.createUser()
    const appId = await createAppFor(b, u)
    b.em.failNext(ALL_ATTEMPTS, { kind: 'lost' }, SUBSCRIPTION_CREATE)
    expect((await createSubscription(b, u, appId)).status).toBe(502)
    b.em.recover()
    const retry = await createSubscription(b, u, appId)
    expect(retry.status).toBe(400)
    expectApiError(retry.body, 'SUBSCRIPTION_EXISTS')
    expect(b.em.subscriptions.size).toBe(1)
    expect((await mirrorOf(b, u))?.stripeSubscriptionId).toBe([...b.em.subscriptions.keys()][0])
  })

  it('a seat that Stripe refused (500, 429, timeout) publishes nothing; the retry adds exactly one seat', async () => {
    const { b, u, second, sub } = await subscribedWithTwoApps()
    for (const fault of [
      { kind: 'status', status: 500 },
      { kind: 'status', status: 429 },
      { kind: 'hang' },
    ] as const) {
      b.em.failNext(ALL_ATTEMPTS, fault, SUBSCRIPTION_UPDATE)
      const r = await deploy(b, u, second, `deploy-${fault.kind}`)
      expect({ fault, status: r.status }).toEqual({ fault, status: 502 })
      expectApiError(r.body, 'PAYMENT_ERROR')
      b.em.recover()
      expect(await appRow(b, second)).toMatchObject({ deployed: false, seat: false })
      expect(sub.items.data[0].quantity).toBe(1)
    }
    const slug = (await b.t.json('GET', `/api/apps/${second}`, { token: u.apiKey })).body.site.slug
    expect((await b.t.request('GET', `/sites/${slug}/privacy`)).status).toBe(404)
    expect((await deploy(b, u, second, 'deploy-ok')).status).toBe(200)
    expect(sub.items.data[0].quantity).toBe(2)
    await expectAgreement(b, u)
  })

  it('a seat whose answer was lost is not added twice by the retry', async () => {
    const { b, u, second, sub } = await subscribedWithTwoApps()
    b.em.failNext(ALL_ATTEMPTS, { kind: 'lost' }, SUBSCRIPTION_UPDATE)
    expect((await deploy(b, u, second, 'deploy-2')).status).toBe(502)
    b.em.recover()
    expect(sub.items.data[0].quantity).toBe(2) // at Stripe; not yet here
    expect((await appRow(b, second))?.seat).toBe(false)
    const retry = await deploy(b, u, second, 'deploy-2')
    expect(retry.status).toBe(200)
    expect(sub.items.data[0].quantity).toBe(2)
    await expectAgreement(b, u)
  })

  it('keeps the app when Stripe cannot release its seat', async () => {
    const { b, u, second } = await subscribedWithTwoApps()
    await deploy(b, u, second)
    b.em.failNext(ALL_ATTEMPTS, { kind: 'status', status: 500 }, SUBSCRIPTION_UPDATE)
    const r = await b.t.json('DELETE', `/api/apps/${second}`, { token: u.apiKey })
    expect(r.status).toBe(502)
    expectApiError(r.body, 'PAYMENT_ERROR')
    expect((await appRow(b, second))?.seat).toBe(true)
    await expectAgreement(b, u)
    expect((await b.t.request('DELETE', `/api/apps/${second}`, { token: u.apiKey })).status).toBe(204)
    await expectAgreement(b, u)
  })

  it('two deploys at once add two seats, not one', async () => {
    const b = billingApp()
    const u = await b.t.createUser()
    const first = await createAppFor(b, u)
    await createSubscription(b, u, first)
    const more = [await createAppFor(b, u), await createAppFor(b, u), await createAppFor(b, u)]
    for (const appId of more)
      await b.t.json('PUT', `/api/apps/${appId}/policy`, { token: u.apiKey, body: VALID_PAGES.policy })
    const results = await Promise.all(
      more.map((appId) => b.t.json('POST', `/api/apps/${appId}/deploy`, { token: u.apiKey })),
    )
    expect(results.map((r) => r.status)).toEqual([200, 200, 200])
    expect(((await stripeSubscriptionOf(b, u)) as any).items.data[0].quantity).toBe(4)
    await expectAgreement(b, u)
  })
})

describe('erasure stops billing whatever the subscription’s state', () => {
  for (const state of ['active', 'trialing', 'past_due', 'cancelling'] as const)
    it(`${state}: DELETE /api/account cancels it at Stripe and deletes the customer`, async () => {
      const b = billingApp(state === 'active' ? { STRIPE_TRIAL_DAYS: '0' } : {})
      const u = await b.t.createUser()
      const appId = await createAppFor(b, u)
      await addCard(b, u)
      expect((await createSubscription(b, u, appId)).status).toBe(200)
      await deploy(b, u, appId)
      const sub = (await stripeSubscriptionOf(b, u)) as any
      if (state === 'past_due') {
        sub.status = 'past_due'
        await deliver(
          b,
          b.em.event('invoice.payment_failed', { id: 'in_1', object: 'invoice', customer: sub.customer }),
        )
        await deliver(b, b.em.event('customer.subscription.updated', sub))
      }
      if (state === 'cancelling')
        expect((await b.t.json('POST', '/api/cancel-subscription', { token: u.apiKey })).status).toBe(200)
      expect({ state, status: sub.status, cancelling: sub.cancel_at_period_end }).toEqual({
        state,
        status: state === 'cancelling' ? 'trialing' : state,
        cancelling: state === 'cancelling',
      })
      expect((await b.t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
      expect(sub.status).toBe('canceled')
      expect(b.em.customers.get(sub.customer)?.deleted).toBe(true)
      expect([...b.em.subscriptions.values()].filter((s) => s.status !== 'canceled')).toEqual([])
    })
})
