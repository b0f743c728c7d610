import { describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { many, one } from '../../db/query'
import { apps, stripeEvents, subscriptions, users } from '../../db/tables'
import { MINUTE } from '../../src/lib/clock'
import {
  billingAppsPerTest,
  createAppFor,
  deliver,
  mirrorOf,
  stripeSubscriptionOf,
  WEBHOOK_SECRET,
} from '../support/billing'
import { expectApiError } from '../support/envelopes'
import { completeCheckout } from '../support/stripe-emulator-billing'

const billingApp = billingAppsPerTest()

/** A user whose trial subscription was started through the API. */
async function subscribed() {
  const b = billingApp()
  const u = await b.t.createUser()
  const appId = await createAppFor(b, u)
  const r = await b.t.json('POST', `/api/apps/${appId}/create-subscription`, {
    token: u.apiKey,
    body: { plan: 'monthly' },
  })
  expect(r.status).toBe(200)
  return { b, u, appId, sub: (await stripeSubscriptionOf(b, u)) as any }
}

const invoiceFor = (sub: any) => ({
  id: 'in_test_1',
  object: 'invoice',
  customer: sub.customer,
  parent: { type: 'subscription_details', subscription_details: { subscription: sub.id } },
})

describe('POST /api/webhooks/stripe', () => {
  it('mirrors the subscription Stripe has now when a signed event arrives', async () => {
    const { b, u, sub } = await subscribed()
    sub.status = 'past_due'
    const r = await deliver(b, b.em.event('invoice.payment_failed', invoiceFor(sub)))
    expect(r.status).toBe(200)
    expect(r.body).toEqual({ received: true, outcome: 'processed' })
    expect((await mirrorOf(b, u))?.status).toBe('past_due')
    expect((await b.t.json('GET', '/api/status', { token: u.apiKey })).body.subscription).toBe('past_due')
    sub.status = 'active'
    await deliver(b, b.em.event('invoice.paid', invoiceFor(sub)))
    expect((await mirrorOf(b, u))?.status).toBe('active')
  })

  it('refuses forged, tampered, stale and unsigned events with 400, changing nothing', async () => {
    const { b, u, sub } = await subscribed()
    sub.status = 'past_due'
    const event = b.em.event('customer.subscription.updated', sub)
    const stripeCalls = b.em.calls.length
    const forged = await deliver(b, event, { secret: 'whsec_not_ours' })
    const payload = JSON.stringify(event)
    const { default: Stripe } = await import('stripe')
    const signer = new Stripe('sk_test_x')
    const now = Math.floor(b.t.clock.now() / 1000)
    const validFor = (body: string, timestamp = now) =>
      signer.webhooks.generateTestHeaderStringAsync({ payload: body, secret: WEBHOOK_SECRET, timestamp })
    const tampered = await b.t.json('POST', '/api/webhooks/stripe', {
      rawBody: payload.replace('past_due', 'active'),
      headers: { 'stripe-signature': await validFor(payload) },
    })
    const stale = await deliver(b, event, { signature: await validFor(payload, now - 10 * 60) })
    const unsigned = await b.t.json('POST', '/api/webhooks/stripe', { rawBody: payload })
    for (const [name, r] of Object.entries({ forged, tampered, stale, unsigned })) {
      expect({ name, status: r.status }).toEqual({ name, status: 400 })
      expectApiError(r.body, 'VALIDATION_FAILED')
    }
    expect((await mirrorOf(b, u))?.status).toBe('trialing')
    expect(await many(b.t.store.orm.select().from(stripeEvents))).toEqual([])
    expect(b.em.calls.length).toBe(stripeCalls)
    // The genuine delivery of the same event still works.
    expect((await deliver(b, event)).body.outcome).toBe('processed')
    expect((await mirrorOf(b, u))?.status).toBe('past_due')
  })

  it('processes each event id once', async () => {
    const { b, u, sub } = await subscribed()
    sub.cancel_at_period_end = true
    const event = b.em.event('customer.subscription.updated', sub)
    expect((await deliver(b, event)).body.outcome).toBe('processed')
    const calls = b.em.calls.length
    sub.cancel_at_period_end = false
    expect((await deliver(b, event)).body).toEqual({ received: true, outcome: 'duplicate' })
    expect(b.em.calls.length).toBe(calls)
    expect((await mirrorOf(b, u))?.cancelAtPeriodEnd).toBe(true)
    expect(
      await many(b.t.store.orm.select().from(stripeEvents).where(eq(stripeEvents.id, event.id))),
    ).toHaveLength(1)
  })

  it('ends up at Stripe’s current state whatever order events arrive in', async () => {
    const { b, u, appId, sub } = await subscribed()
    const older = b.em.event('customer.subscription.updated', sub) // still trialing, not cancelling
    b.t.clock.advance(MINUTE)
    sub.status = 'active'
    sub.cancel_at_period_end = true
    const newer = b.em.event('customer.subscription.updated', sub)
    await deliver(b, newer)
    await deliver(b, older)
    expect(await mirrorOf(b, u)).toMatchObject({ status: 'active', cancelAtPeriodEnd: true })

    // The subscription ends at Stripe: the deletion event ends it here, and frees the seats.
    b.t.clock.advance(MINUTE)
    sub.status = 'canceled'
    const deleted = b.em.event('customer.subscription.deleted', sub)
    await deliver(b, deleted)
    await deliver(b, b.em.event('customer.subscription.updated', { ...older.data.object }))
    expect((await mirrorOf(b, u))?.status).toBe('canceled')
    expect((await one(b.t.store.orm.select().from(apps).where(eq(apps.id, appId))))?.seat).toBe(false)
    expect((await b.t.json('GET', '/api/status', { token: u.apiKey })).body.subscription).toBe('canceled')
  })

  it('acknowledges and ignores events for an erased user, and events it does not handle', async () => {
    const { b, u, sub } = await subscribed()
    const unhandled = await deliver(
      b,
      b.em.event('customer.updated', { id: sub.customer, object: 'customer' }),
    )
    expect(unhandled.body.outcome).toBe('ignored')
    expect((await b.t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
    const late = await deliver(b, b.em.event('customer.subscription.updated', sub))
    expect(late.status).toBe(200)
    expect(late.body).toEqual({ received: true, outcome: 'ignored' })
    expect(await many(b.t.store.orm.select().from(subscriptions))).toEqual([])
    expect(await many(b.t.store.orm.select().from(users).where(eq(users.id, u.user.id)))).toEqual([])
  })

  it('completes a checkout from checkout.session.completed', async () => {
    const b = billingApp()
    const u = await b.t.createUser()
    const appId = await createAppFor(b, u)
    const { sessionId } = (
      await b.t.json('POST', `/api/apps/${appId}/checkout-session`, {
        token: u.apiKey,
        body: { plan: 'monthly' },
      })
    ).body
    const event = completeCheckout(b.em, sessionId)
    expect((await deliver(b, event)).body.outcome).toBe('processed')
    expect(await mirrorOf(b, u)).toMatchObject({ status: 'trialing', quantity: 1, planType: 'monthly' })
    expect((await one(b.t.store.orm.select().from(apps).where(eq(apps.id, appId))))?.seat).toBe(true)
    // The redirect's verify-checkout afterwards agrees and changes nothing.
    const verified = await b.t.json('POST', `/api/apps/${appId}/verify-checkout`, {
      token: u.apiKey,
      body: { sessionId },
    })
    expect(verified.body).toMatchObject({ subscriptionId: event.data.object.subscription, quantity: 1 })
  })

  it('answers 502 when Stripe cannot be reached to re-read, so Stripe delivers again', async () => {
    const { b, u, sub } = await subscribed()
    sub.status = 'past_due'
    const event = b.em.event('customer.subscription.updated', sub)
    b.em.failNext(3, { kind: 'status', status: 500 })
    const r = await deliver(b, event)
    expect(r.status).toBe(502)
    expectApiError(r.body, 'PAYMENT_ERROR')
    expect((await mirrorOf(b, u))?.status).toBe('trialing')
    expect(await many(b.t.store.orm.select().from(stripeEvents))).toEqual([])
    expect((await deliver(b, event)).body.outcome).toBe('processed')
    expect((await mirrorOf(b, u))?.status).toBe('past_due')
  })
})
