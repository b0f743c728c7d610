import { afterEach, describe, expect, it } from 'bun:test'
import { type BillingTestApp, createBillingTestApp, giveSubscription } from '../support/billing'
import { ownedRowIds, seedFullAccount } from '../support/seed'

const opened: BillingTestApp[] = []
afterEach(() => {
  for (const b of opened.splice(0)) b.close()
})

describe('erasure at Stripe, beyond the first page', () => {
  it('cancels all 120 subscriptions of a customer before any local row is removed', async () => {
    const b = createBillingTestApp()
    opened.push(b)
    const { t, em } = b
    const u = await t.createUser()
    await seedFullAccount(t, u)
    const { customer } = await giveSubscription(b, u)
    for (let i = 1; i < 120; i++)
      em.createSubscription({
        customer: customer.id,
        items: [{ price: 'price_monthly', quantity: 1 }],
        status: 'active',
      })
    const live = () =>
      [...em.subscriptions.values()].filter((s) => s.customer === customer.id && s.status !== 'canceled')
    expect(live()).toHaveLength(120)
    const before = await ownedRowIds(t, u.user.id)

    // The customer deletion fails after every subscription was cancelled: fail closed, nothing
    // local is touched — proving the cancellations came first.
    em.failNext(3, { kind: 'status', status: 500 }, { method: 'DELETE', path: /^\/v1\/customers\// })
    const failed = await t.request('DELETE', '/api/account', { token: u.apiKey })
    expect(failed.status).toBe(502)
    expect(live()).toHaveLength(0)
    expect(await ownedRowIds(t, u.user.id)).toEqual(before)
    expect(em.callsTo('GET', /^\/v1\/subscriptions$/).length).toBeGreaterThanOrEqual(2) // paged

    em.recover()
    expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
    for (const rows of Object.values(await ownedRowIds(t, u.user.id))) expect(rows).toHaveLength(0)
    const deletions = em.callsTo('DELETE', /^\/v1\/customers\//)
    expect(deletions.length).toBeGreaterThan(0)
    // The customer deletion carries an idempotency key derived from the deletion id.
    for (const call of deletions)
      expect(call.idempotencyKey ?? '').toMatch(/^custodian-deletion-.+-delete-cus_/)
  })
})
