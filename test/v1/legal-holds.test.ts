import { describe, expect, it } from 'bun:test'
import { DAY } from '../../src/lib/clock'
import { countOwnedRows, requestDeletion } from '../../src/services/deletion'
import { purgeOnce } from '../../src/workers/purge'
import { createTestApp, type TestApp, type TestUser } from '../support/harness'
import { receiptsOf } from '../support/receipts'
import { seedFullAccount } from '../support/seed'

const env = { RATE_LIMIT_ENABLED: 'false' }

/** The account's rows per table, but for stored Idempotency-Key answers: those expire after a day anyway. */
async function keptRows(t: TestApp, userId: string) {
  const { idempotency_keys: _expiring, ...rest } = await countOwnedRows(t.store, userId)
  return rest
}

async function hold(t: TestApp, operator: TestUser, userId: string, body: Record<string, unknown> = {}) {
  return t.json('PUT', `/v1/admin/users/${userId}/legal-hold`, {
    token: operator.session,
    body: { reason: 'litigation 2026-17', ...body },
  })
}

describe('legal holds', () => {
  it('a held account’s DELETE answers 409 LEGAL_HOLD in both dialects, is recorded, and completes once released', async () => {
    const t = createTestApp({ env })
    const operator = await t.createUser({ operator: true })
    const u = await t.createUser()
    const placed = await hold(t, operator, u.user.id, { confidential: true })
    expect(placed.status).toBe(200)
    expect(placed.body.legal_hold).toMatchObject({ user_id: u.user.id, confidential: true, until: null })

    const api = await t.json('DELETE', '/api/account', { token: u.apiKey })
    expect(api).toMatchObject({ status: 409, body: { error: { code: 'LEGAL_HOLD' } } })
    const v1 = await t.json('DELETE', '/v1/account/me', { token: u.session })
    expect(v1).toMatchObject({ status: 409, body: { code: 'legal_hold' } })
    // Recorded once, and the account still works.
    const receipts = await receiptsOf(t, u.user.id)
    expect(receipts.map((r) => r.step)).toEqual(['blocked_legal_hold'])
    expect((await t.request('GET', '/v1/account/me', { token: u.session })).status).toBe(200)
    const { deletions } = (await t.json('GET', '/v1/admin/deletions', { token: operator.session })).body
    expect(deletions[0]).toMatchObject({ step: 'blocked_legal_hold', certificate_url: null })
    // The export shows that a hold exists, not the confidential reason.
    const exported = await t.json('GET', '/v1/account/export', { token: u.session })
    expect(exported.body.legal_hold).toMatchObject({ user_id: u.user.id, confidential: true, reason: null })
    expect(JSON.stringify(exported.body)).not.toContain('litigation 2026-17')
    expect(
      (await t.json('GET', '/v1/admin/legal-holds', { token: operator.session })).body.legal_holds,
    ).toHaveLength(1)

    expect(
      (await t.request('DELETE', `/v1/admin/users/${u.user.id}/legal-hold`, { token: operator.session }))
        .status,
    ).toBe(204)
    expect(
      (await t.request('DELETE', `/v1/admin/users/${u.user.id}/legal-hold`, { token: operator.session }))
        .status,
    ).toBe(404)
    // Within one worker pass.
    expect((await purgeOnce(t.deps)).resumed).toBe(1)
    const [receipt] = await receiptsOf(t, u.user.id)
    expect(receipt?.step).toBe('done')
    expect(await t.row('SELECT count(*) AS n FROM users WHERE id = ?1', u.user.id)).toEqual({ n: 0 })
    expect(
      (await t.json('GET', '/v1/admin/legal-holds', { token: operator.session })).body.legal_holds,
    ).toEqual([])
  })

  it('refuses bad holds: a past until (400), an unknown account (404), an erasure under way (409), non-operators (403)', async () => {
    const t = createTestApp({ env })
    const operator = await t.createUser({ operator: true })
    const u = await t.createUser()
    const past = await hold(t, operator, u.user.id, { until: new Date(t.clock.now() - 1000).toISOString() })
    expect(past).toMatchObject({ status: 400, body: { code: 'invalid_fields' } })
    expect((await hold(t, operator, 'no-such-user')).status).toBe(404)
    expect(
      (
        await t.json('PUT', `/v1/admin/users/${u.user.id}/legal-hold`, {
          token: u.session,
          body: { reason: 'x' },
        })
      ).status,
    ).toBe(403)
    expect(
      (
        await t.json('PUT', `/v1/admin/users/${u.user.id}/legal-hold`, {
          token: operator.session,
          body: { reason: '' },
        })
      ).status,
    ).toBe(400)
    await t.exec('UPDATE users SET erasure_requested_at = 1 WHERE id = ?1', u.user.id)
    expect(await hold(t, operator, u.user.id)).toMatchObject({ status: 409, body: { code: 'conflict' } })
  })

  it('a hold racing an erasure: either the hold stands and nothing is erased, or the erasure wins and the hold is refused', async () => {
    const t = createTestApp({ env })
    const operator = await t.createUser({ operator: true })
    for (let i = 0; i < 16; i++) {
      const u = await t.createUser()
      const placeHold = () => hold(t, operator, u.user.id)
      const erase = () => t.json('DELETE', '/api/account', { token: u.apiKey })
      // Each sent first in turn.
      const [held, deleted] =
        i % 2
          ? await Promise.all([placeHold(), erase()])
          : (await Promise.all([erase(), placeHold()])).reverse()
      const exists = (await t.row('SELECT count(*) AS n FROM users WHERE id = ?1', u.user.id))?.n === 1
      const outcome = `hold ${held?.status}, delete ${deleted?.status}, account ${exists ? 'kept' : 'erased'}`
      expect([
        'hold 200, delete 409, account kept',
        'hold 409, delete 204, account erased',
        'hold 404, delete 204, account erased',
      ]).toContain(outcome)
    }
  })

  it('a hold with `until` lapses by itself, and the erasure it blocked completes', async () => {
    const t = createTestApp({ env })
    const operator = await t.createUser({ operator: true })
    const u = await t.createUser()
    await hold(t, operator, u.user.id, { until: new Date(t.clock.now() + 2 * DAY).toISOString() })
    expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(409)
    await purgeOnce(t.deps)
    expect((await receiptsOf(t, u.user.id))[0]?.step).toBe('blocked_legal_hold')
    t.clock.advance(2 * DAY + 1)
    const report = await purgeOnce(t.deps)
    expect(report.holdsLapsed).toBe(1)
    expect((await receiptsOf(t, u.user.id))[0]?.step).toBe('done')
  })

  // Every deletion entry point against random sets of held accounts: no held account loses a row,
  // every unheld one is erased.
  const ENTRY_POINTS = [
    'api_delete',
    'v1_delete',
    'grace_purge',
    'operator_hard_delete',
    'worker_resumption',
    'retention',
  ] as const
  type EntryPoint = (typeof ENTRY_POINTS)[number]
  for (const seed of [1, 2, 3])
    it(`property (seed ${seed}): every entry point honours the holds`, async () => {
      let state = seed * 7919
      const random = () => {
        state = (state * 1103515245 + 12345) % 2 ** 31
        return state / 2 ** 31
      }
      const t = createTestApp({ env: { ...env, RETENTION_INACTIVE_DAYS: '30', RETENTION_WARNING_DAYS: '2' } })
      const operator = await t.createUser({ operator: true })
      const heldFirst = ENTRY_POINTS.map(() => random() < 0.5)
      const accounts: { u: TestUser; entry: EntryPoint; held: boolean; before: Record<string, number> }[] = []
      for (let i = 0; i < 12; i++) {
        const u = await t.createUser()
        await seedFullAccount(t, u, { sandboxes: 0, appNames: [`App ${i}`] })
        accounts.push({
          u,
          entry: ENTRY_POINTS[i % ENTRY_POINTS.length] as EntryPoint,
          // Each entry point twice, once held and once not; which one is the seed's draw.
          held:
            i < ENTRY_POINTS.length ? heldFirst[i] === true : heldFirst[i - ENTRY_POINTS.length] === false,
          before: await keptRows(t, u.user.id),
        })
      }
      // Retention's accounts stay away; every other account is seen now, so only those go inactive first.
      // In an order of the seed's drawing.
      const order = [...accounts].sort(() => random() - 0.5)
      for (const a of order) {
        const holdNow =
          a.held && !['grace_purge', 'operator_hard_delete', 'worker_resumption'].includes(a.entry)
        if (holdNow) expect((await hold(t, operator, a.u.user.id)).status).toBe(200)
        const { u } = a
        switch (a.entry) {
          case 'api_delete':
            expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(
              a.held ? 409 : 204,
            )
            break
          case 'v1_delete':
            expect((await t.request('DELETE', '/v1/account/me', { token: u.session })).status).toBe(
              a.held ? 409 : 202,
            )
            break
          case 'grace_purge':
            expect((await t.request('DELETE', '/v1/account/me', { token: u.session })).status).toBe(202)
            if (a.held) expect((await hold(t, operator, u.user.id)).status).toBe(200)
            break
          case 'operator_hard_delete': {
            expect((await t.request('DELETE', '/v1/account/me', { token: u.session })).status).toBe(202)
            if (a.held) expect((await hold(t, operator, u.user.id)).status).toBe(200)
            const r = await t.json('DELETE', `/v1/admin/users/${u.user.id}`, { token: operator.session })
            expect({ status: r.status, code: r.body.code ?? null }).toEqual(
              a.held ? { status: 409, code: 'legal_hold' } : { status: 200, code: null },
            )
            break
          }
          case 'worker_resumption': {
            // A run that failed before Stripe was stopped: the account usable again, the job due.
            await requestDeletion(t.deps, u.user.id, 'immediate')
            await t.exec(
              'UPDATE account_deletions SET locked_until = NULL, next_attempt_at = 0 WHERE user_id = ?1',
              u.user.id,
            )
            await t.exec('UPDATE users SET erasure_requested_at = NULL WHERE id = ?1', u.user.id)
            if (a.held) expect((await hold(t, operator, u.user.id)).status).toBe(200)
            break
          }
          case 'retention':
            break
        }
      }
      // Days pass: retention warns, schedules (grace), and the grace purge runs.
      for (const days of [0, 31, 3, 31, 1]) {
        t.clock.advance(days * DAY)
        await purgeOnce(t.deps)
      }
      for (const a of accounts) {
        const label = { entry: a.entry, held: a.held }
        const user = await t.row('SELECT id FROM users WHERE id = ?1', a.u.user.id)
        const receipts = await receiptsOf(t, a.u.user.id)
        if (a.held) {
          expect({ ...label, rows: await keptRows(t, a.u.user.id) }).toEqual({ ...label, rows: a.before })
          if (a.entry !== 'retention')
            expect({ ...label, steps: receipts.map((r) => r.step) }).toEqual({
              ...label,
              steps: ['blocked_legal_hold'],
            })
        } else {
          expect({ ...label, user: user ?? null }).toEqual({ ...label, user: null })
          expect({ ...label, steps: receipts.map((r) => r.step) }).toEqual({ ...label, steps: ['done'] })
        }
      }
    })
})
