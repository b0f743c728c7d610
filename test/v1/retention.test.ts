import { describe, expect, it } from 'bun:test'
import { DAY } from '../../src/lib/clock'
import { deliverAllDue } from '../../src/services/webhook-delivery'
import { purgeOnce } from '../../src/workers/purge'
import type { TestApp, TestUser } from '../support/harness'
import { receiptsOf } from '../support/receipts'
import { seedFullAccount } from '../support/seed'
import { itSqlite, sqliteOf } from '../support/test-database'
import { registerEndpoint, webhookTestApp } from '../support/webhook-receiver'

const RETENTION = { RETENTION_INACTIVE_DAYS: '730', RETENTION_WARNING_DAYS: '30' }

const freshSession = (t: TestApp, u: TestUser) => t.session(u.user.id, u.user.email, { verified: true })
const retention = async (t: TestApp, query = '') => {
  const operator = await t.createUser({ operator: true })
  const r = await t.json('GET', `/v1/admin/retention${query}`, { token: operator.session })
  expect(r.status).toBe(200)
  return r.body as {
    enabled: boolean
    accounts: { user_id: string; action: string; warned_at: string | null }[]
  }
}
const idsOf = (body: { accounts: { user_id: string }[] }) => body.accounts.map((a) => a.user_id).sort()

describe('retention of inactive accounts', () => {
  it('warns, lists, lets a request cancel the warning, then schedules the ordinary two-stage deletion; skips held, busy and operators', async () => {
    const { t, receiver } = webhookTestApp(RETENTION)
    const admin = await t.createUser({ operator: true })
    await registerEndpoint(t, admin.session, { url: receiver.url, events: ['account.inactivity_warning'] })
    const idle = await t.createUser()
    const returning = await t.createUser()
    const active = await t.createUser()
    const busy = await t.createUser()
    await seedFullAccount(t, busy, { sandboxes: 1 }) // one running sandbox
    const held = await t.createUser()
    const hold = await t.json('PUT', `/v1/admin/users/${held.user.id}/legal-hold`, {
      token: admin.session,
      body: { reason: 'hold' },
    })
    expect(hold.status).toBe(200)

    t.clock.advance(699 * DAY)
    expect((await t.request('GET', '/api/status', { token: active.apiKey })).status).toBe(200)
    await Bun.sleep(20) // the activity is recorded beside the request
    t.clock.advance(2 * DAY)
    const dryRun = await retention(t, '?dryRun=true')
    expect(dryRun.enabled).toBe(true)
    expect(idsOf(dryRun)).toEqual([idle.user.id, returning.user.id].sort())
    expect(dryRun.accounts.every((a) => a.action === 'warn')).toBe(true)
    expect((await retention(t)).accounts).toEqual([]) // nobody warned yet: the dry run changed nothing

    expect((await purgeOnce(t.deps)).inactivityWarned).toBe(2)
    await deliverAllDue(t.deps)
    const warnings = receiver.ofType('account.inactivity_warning')
    expect(warnings.map((w) => w.json.data.user_id).sort()).toEqual([idle.user.id, returning.user.id].sort())
    expect(Object.keys(warnings[0]?.json.data ?? {}).sort()).toEqual([
      'deletion_scheduled_at',
      'last_active_at',
      'user_id',
    ])

    // Any authenticated request cancels the warning.
    expect(
      (await t.request('GET', '/v1/account/me', { token: await freshSession(t, returning) })).status,
    ).toBe(200)
    await Bun.sleep(20)
    const warned = await retention(t)
    expect(idsOf(warned)).toEqual([idle.user.id])
    expect(warned.accounts[0]).toMatchObject({ action: 'none' })

    t.clock.advance(30 * DAY)
    expect((await purgeOnce(t.deps)).inactivityScheduled).toBe(1)
    expect(
      await t.row('SELECT soft_deleted_at IS NOT NULL AS scheduled FROM users WHERE id = ?1', idle.user.id),
    ).toEqual({
      scheduled: 1,
    })
    t.clock.advance(31 * DAY)
    expect((await purgeOnce(t.deps)).hardDeleted).toBe(1)
    expect((await receiptsOf(t, idle.user.id)).map((r) => r.step)).toEqual(['done'])
    for (const kept of [returning, active, busy, held, admin])
      expect(await t.row('SELECT count(*) AS n FROM users WHERE id = ?1', kept.user.id)).toEqual({ n: 1 })
  })

  it('is off by default: nobody is warned, however long idle', async () => {
    const { t } = webhookTestApp()
    const u = await t.createUser()
    t.clock.advance(5000 * DAY)
    expect((await purgeOnce(t.deps)).inactivityWarned).toBe(0)
    expect(await retention(t, '?dryRun=true')).toMatchObject({ enabled: false, accounts: [] })
    expect(await t.row('SELECT count(*) AS n FROM users WHERE id = ?1', u.user.id)).toEqual({ n: 1 })
  })

  itSqlite('records the last activity with at most one write per account and day', async () => {
    const { t } = webhookTestApp(RETENTION)
    const u = await t.createUser()
    const sqlite = sqliteOf(t.store).sqlite
    const changes = () => (sqlite.query('SELECT total_changes() AS n').get() as { n: number }).n
    const burst = async () => {
      const before = changes()
      const session = await freshSession(t, u)
      for (let i = 0; i < 5; i++)
        expect((await t.request('GET', '/v1/account/me', { token: session })).status).toBe(200)
      await Bun.sleep(20)
      return changes() - before
    }
    expect(await burst()).toBe(0) // created today: already current
    t.clock.advance(DAY)
    expect(await burst()).toBe(1)
    expect(await burst()).toBe(0)
    const row = await t.row('SELECT last_active_at FROM users WHERE id = ?1', u.user.id)
    expect(row?.last_active_at % DAY).toBe(0)
  })
})
