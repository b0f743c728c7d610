import { describe, expect, it } from 'bun:test'
import { DAY, HOUR } from '../../src/lib/clock'
import { endOfDayMonthsLater } from '../../src/lib/legal-clock'
import { deliverAllDue } from '../../src/services/webhook-delivery'
import { purgeOnce } from '../../src/workers/purge'
import { scanForStrings } from '../support/byte-scan'
import { fileBackedApp } from '../support/file-backed-app'
import { createTestApp, type TestApp, type TestUser } from '../support/harness'
import { onPostgres, sqliteOf } from '../support/test-database'
import { registerEndpoint, webhookTestApp } from '../support/webhook-receiver'

const env = { RATE_LIMIT_ENABLED: 'false' }
const at = (iso: string) => Date.parse(iso)

/** A session of the operator minted now: the tests move the clock by days and months. */
const as = (t: TestApp, u: TestUser) => t.session(u.user.id, u.user.email, { verified: true })

async function open(t: TestApp, operator: TestUser, body: Record<string, unknown>) {
  const r = await t.json('POST', '/v1/admin/requests', { token: await as(t, operator), body })
  expect(r.status).toBe(201)
  return r.body as { id: string; due_at: string; status: string }
}
const move = async (
  t: TestApp,
  operator: TestUser,
  id: string,
  transition: string,
  body: Record<string, unknown> = {},
) => t.json('POST', `/v1/admin/requests/${id}/${transition}`, { token: await as(t, operator), body })

describe('the legal clock', () => {
  it('counts calendar months as the regulation does: Jan 31 → Feb 28, or 29 in a leap year; end of that day', () => {
    expect(new Date(endOfDayMonthsLater(at('2027-01-31T10:00:00Z'), 1)).toISOString()).toBe(
      '2027-02-28T23:59:59.999Z',
    )
    expect(new Date(endOfDayMonthsLater(at('2028-01-31T10:00:00Z'), 1)).toISOString()).toBe(
      '2028-02-29T23:59:59.999Z',
    )
    expect(new Date(endOfDayMonthsLater(at('2027-03-15T00:00:00Z'), 1)).toISOString()).toBe(
      '2027-04-15T23:59:59.999Z',
    )
    expect(new Date(endOfDayMonthsLater(at('2027-12-31T12:00:00Z'), 1)).toISOString()).toBe(
      '2028-01-31T23:59:59.999Z',
    )
    expect(new Date(endOfDayMonthsLater(at('2027-11-30T12:00:00Z'), 3)).toISOString()).toBe(
      '2028-02-29T23:59:59.999Z',
    )
  })
})

describe('data-subject requests', () => {
  it('a case across a month end: received, identity paused, started, extended once, fulfilled', async () => {
    const t = createTestApp({ env })
    t.clock.set(at('2028-01-31T09:00:00Z'))
    const operator = await t.createUser({ operator: true })
    const u = await t.createUser()
    const created = await open(t, operator, {
      type: 'access',
      user_id: u.user.id,
      channel: 'email',
      note: 'asked by mail',
    })
    expect(created).toMatchObject({ status: 'received', due_at: '2028-02-29T23:59:59.999Z' })

    t.clock.advance(2 * DAY)
    expect((await move(t, operator, created.id, 'verify-identity', { verified: false })).body).toMatchObject({
      status: 'identity_pending',
    })
    t.clock.advance(3 * DAY + HOUR) // 3 days and an hour: 4 days of pause
    const resumed = (await move(t, operator, created.id, 'verify-identity', { verified: true })).body
    expect(resumed).toMatchObject({ status: 'received', paused_days: 4, due_at: '2028-03-04T23:59:59.999Z' })
    expect((await move(t, operator, created.id, 'verify-identity', { verified: true })).status).toBe(409)

    expect((await move(t, operator, created.id, 'start')).body).toMatchObject({ status: 'in_progress' })
    expect((await move(t, operator, created.id, 'extend', { months: 2 })).status).toBe(400) // a reason is owed
    const extended = (await move(t, operator, created.id, 'extend', { months: 2, reason: 'complex request' }))
      .body
    expect(extended).toMatchObject({
      status: 'extended',
      extension: { months: 2, reason: 'complex request' },
      due_at: '2028-05-04T23:59:59.999Z', // Jan 31 + 3 months = Apr 30, + 4 paused days
    })
    const again = await move(t, operator, created.id, 'extend', { months: 1, reason: 'more' })
    expect(again).toMatchObject({ status: 409, body: { code: 'conflict' } })

    const done = (await move(t, operator, created.id, 'fulfil', { export_id: 'exp_x' })).body
    expect(done).toMatchObject({ status: 'fulfilled', export_id: 'exp_x', overdue: false })
    expect((await move(t, operator, created.id, 'withdraw')).status).toBe(409) // closed cases stay closed
  })

  it('refusals need a reason; unknown accounts and ids are 404; lists filter by status, overdue and due date', async () => {
    const t = createTestApp({ env })
    t.clock.set(at('2027-06-10T12:00:00Z'))
    const operator = await t.createUser({ operator: true })
    const u = await t.createUser()
    expect(
      (
        await t.json('POST', '/v1/admin/requests', {
          token: await as(t, operator),
          body: { type: 'access', user_id: 'nobody' },
        })
      ).status,
    ).toBe(404)
    expect(
      (await t.json('POST', '/v1/admin/requests', { token: await as(t, operator), body: { type: 'access' } }))
        .status,
    ).toBe(400)
    expect(
      (
        await t.json('POST', '/v1/admin/requests', {
          token: await as(t, operator),
          body: { type: 'gossip', email: 'a@b.c' },
        })
      ).status,
    ).toBe(400)
    expect(
      (
        await t.json('POST', '/v1/admin/requests', {
          token: u.session,
          body: { type: 'access', email: 'a@b.c' },
        })
      ).status,
    ).toBe(403)
    const old = await open(t, operator, {
      type: 'objection',
      user_id: u.user.id,
      received_at: '2027-04-01T08:00:00Z',
    })
    const fresh = await open(t, operator, { type: 'rectification', email: 'someone@example.org' })
    const refused = await open(t, operator, { type: 'restriction', user_id: u.user.id })
    expect((await move(t, operator, refused.id, 'refuse')).status).toBe(400)
    expect(
      (await move(t, operator, refused.id, 'refuse', { reason: 'manifestly unfounded' })).body,
    ).toMatchObject({
      status: 'refused',
      outcome_reason: 'manifestly unfounded',
    })
    expect(
      (
        await t.request('POST', '/v1/admin/requests/dsr_nope/start', {
          token: await as(t, operator),
          body: {},
        })
      ).status,
    ).toBe(404)

    const list = async (query: string) =>
      (
        (await t.json('GET', `/v1/admin/requests${query}`, { token: await as(t, operator) })).body
          .requests as {
          id: string
        }[]
      ).map((r) => r.id)
    expect(await list('?overdue=true')).toEqual([old.id])
    expect(await list('?status=received')).toEqual([old.id, fresh.id])
    expect(await list('?due_before=2027-06-01T00:00:00Z')).toEqual([old.id])
    expect(await list('?limit=1')).toEqual([old.id])
  })

  it('overdue: counted in the metric and announced once as request.overdue', async () => {
    const { t, receiver } = webhookTestApp()
    const operator = await t.createUser({ operator: true })
    await registerEndpoint(t, operator.session, { url: receiver.url, events: ['request.overdue'] })
    const u = await t.createUser()
    const request = await open(t, operator, { type: 'portability', user_id: u.user.id })
    await open(t, operator, { type: 'access', email: 'nobody@example.org' })
    t.clock.advance(25 * DAY)
    await purgeOnce(t.deps)
    const metrics = () => t.deps.metrics.registry.getSingleMetricAsString('custodian_data_requests')
    expect(await metrics()).toContain('custodian_data_requests{state="due_7d"} 2')
    t.clock.advance(10 * DAY)
    await purgeOnce(t.deps)
    await purgeOnce(t.deps)
    expect(await metrics()).toContain('custodian_data_requests{state="overdue"} 2')
    await deliverAllDue(t.deps)
    const announced = receiver.ofType('request.overdue')
    expect(announced).toHaveLength(2)
    expect(announced.map((a) => a.json.data.request_id)).toContain(request.id)
    expect(JSON.stringify(announced.map((a) => a.json.data))).not.toContain('nobody@example.org')
  })

  it('records what the account holder asks through the API, and the erasure leaves only the pseudonym', async () => {
    const { t, databasePath, storageDir } = fileBackedApp({ sqlite: false })
    const operator = await t.createUser({ operator: true })
    const u = await t.createUser()
    expect((await t.request('GET', '/api/account/export', { token: u.apiKey })).status).toBe(200)
    const note = `note-${crypto.randomUUID()}`
    const manual = await open(t, operator, { type: 'objection', user_id: u.user.id, note })
    expect((await t.request('DELETE', '/v1/account/me', { token: u.session })).status).toBe(202)
    const byType = async () => {
      const rows = (await t.json('GET', '/v1/admin/requests', { token: await as(t, operator) })).body
        .requests as {
        type: string
        status: string
        user_id: string | null
        user_hash: string | null
        note: string | null
        erasure_id: string | null
        certificate_url: string | null
      }[]
      return rows
    }
    expect((await byType()).map((r) => `${r.type}:${r.status}`).sort()).toEqual([
      'access:fulfilled',
      'erasure:in_progress',
      'objection:received',
    ])
    // Restored: the erasure request is withdrawn; asked again, then the grace period ends.
    const session = await t.session(u.user.id, u.user.email, { verified: true })
    expect((await t.request('POST', '/v1/account/restore', { token: session })).status).toBe(200)
    expect((await t.request('DELETE', '/v1/account/me', { token: session })).status).toBe(202)
    t.clock.advance(31 * DAY)
    expect((await purgeOnce(t.deps)).hardDeleted).toBe(1)
    const after = await byType()
    const erasures = after.filter((r) => r.type === 'erasure')
    expect(erasures.map((r) => r.status).sort()).toEqual(['fulfilled', 'withdrawn'])
    const fulfilled = erasures.find((r) => r.status === 'fulfilled')
    expect(fulfilled?.erasure_id).toBeTruthy()
    expect(fulfilled?.certificate_url).toContain(fulfilled?.erasure_id as string)
    for (const r of after)
      expect({ user_id: r.user_id, note: r.note, hashed: r.user_hash !== null }).toEqual({
        user_id: null,
        note: null,
        hashed: true,
      })
    expect(after.find((r) => r.type === 'objection')?.status).toBe('received') // still the operator's to answer
    if (!onPostgres) {
      // Down to the bytes of the database file (SQLite).
      sqliteOf(t.store).sqlite.exec('PRAGMA wal_checkpoint(TRUNCATE)')
      const strings = { note, email: u.user.email, userId: u.user.id }
      expect(scanForStrings({ databasePath, storageDir, logs: '' }, strings)).toEqual({})
    }
    expect(manual.id).toMatch(/^dsr_/)
  })

  it('an email-only request keeps the email until the case has been closed for REQUEST_RETENTION_DAYS', async () => {
    const t = createTestApp({ env: { ...env, REQUEST_RETENTION_DAYS: '10' } })
    const operator = await t.createUser({ operator: true })
    const request = await open(t, operator, {
      type: 'access',
      email: 'Stranger@Example.org',
      note: 'by phone',
    })
    const get = async () =>
      (await t.json('GET', `/v1/admin/requests/${request.id}`, { token: await as(t, operator) })).body
    expect(await get()).toMatchObject({ email: 'stranger@example.org', user_id: null })
    expect(
      (await move(t, operator, request.id, 'refuse', { reason: 'no data held about this person' })).status,
    ).toBe(200)
    t.clock.advance(9 * DAY)
    await purgeOnce(t.deps)
    expect(await get()).toMatchObject({ email: 'stranger@example.org' })
    t.clock.advance(2 * DAY)
    await purgeOnce(t.deps)
    expect(await get()).toMatchObject({ email: null, note: null, status: 'refused' })
    // An email that has an account is recorded as the account, not kept twice.
    const u = await t.createUser()
    expect(await open(t, operator, { type: 'erasure', email: u.user.email })).toMatchObject({})
    const { requests } = (
      await t.json('GET', '/v1/admin/requests?status=received', { token: await as(t, operator) })
    ).body
    expect(requests[0]).toMatchObject({ user_id: u.user.id, email: null })
  })
})
