import { afterEach, describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { exec, many, one } from '../../db/query'
import type { DeletionStep } from '../../db/schema'
import { apps, sandboxes, users } from '../../db/tables'
import { DAY, MINUTE } from '../../src/lib/clock'
import { hashUserId } from '../../src/lib/pseudonym'
import { eraseAccount } from '../../src/services/deletion'
import { purgeOnce } from '../../src/workers/purge'
import { type BillingTestApp, createBillingTestApp, giveSubscription } from '../support/billing'
import { expectApiError, expectV1Error } from '../support/envelopes'
import { createTestApp, type TestApp, type TestUser } from '../support/harness'
import { receiptsOf } from '../support/receipts'
import { insertRunningSandbox, ownedRowIds, seedFullAccount } from '../support/seed'
import { onPostgres } from '../support/test-database'

const opened: BillingTestApp[] = []
const billing = (options: Parameters<typeof createBillingTestApp>[0] = {}) => {
  const b = createBillingTestApp(options)
  opened.push(b)
  return b
}
afterEach(() => {
  for (const b of opened.splice(0)) b.close()
})

/** A runner that stops for good right after recording `step` (a crash between steps). */
const pauseAfter = (step: DeletionStep) => ({
  afterStep: (reached: DeletionStep) => (reached === step ? new Promise<void>(() => {}) : Promise.resolve()),
})

/** Every owned table reaches no row of the user any more. */
async function expectErased(t: TestApp, userId: string) {
  for (const [table, rows] of Object.entries(await ownedRowIds(t, userId)))
    expect({ table, rows: rows.length }).toEqual({ table, rows: 0 })
}

/** Files as apps and domains leave them in storage. */
async function writeStoredFiles(t: TestApp, appIds: string[]) {
  for (const appId of appIds) await t.deps.storage.write(t.deps.storage.appPath(appId, 'icon.png'), 'png')
}

describe('DELETE /api/account', () => {
  it('stops billing at Stripe, erases every row and file, and keeps a PII-free receipt', async () => {
    const b = billing({ env: { STORAGE_DIR: `/tmp/custodian-erase-${crypto.randomUUID()}` } })
    const { t, em } = b
    const u = await t.createUser()
    const seeded = await seedFullAccount(t, u)
    await writeStoredFiles(t, seeded.appIds)
    const { customer, sub } = await giveSubscription(b, u)
    const runtime = await t.runtimeKey(u)
    const before = await ownedRowIds(t, u.user.id)

    const r = await t.request('DELETE', '/api/account', { token: u.apiKey })
    expect(r.status).toBe(204)
    expect(await r.text()).toBe('')

    expect(em.subscriptions.get(sub.id)?.status).toBe('canceled')
    expect(em.customers.get(customer.id)?.deleted).toBe(true)
    await expectErased(t, u.user.id)
    for (const appId of seeded.appIds)
      expect(await t.deps.storage.exists(t.deps.storage.appPath(appId))).toBe(false)
    const [receipt] = await receiptsOf(t, u.user.id)
    expect(receipt).toMatchObject({ step: 'done', mode: 'immediate', userId: null, lastError: null })
    for (const [table, rows] of Object.entries(before))
      expect({ table, erased: receipt?.counts?.[table] ?? 0 }).toEqual({ table, erased: rows.length })
    expect(receipt?.stripeActions).toEqual([
      `canceled subscription ${sub.id}`,
      `deleted customer ${customer.id}`,
    ])
    expect(JSON.stringify(receipt)).not.toContain(u.user.email)
    expect(JSON.stringify(receipt)).not.toContain(u.user.id)
    for (const token of [u.apiKey, u.session, runtime])
      expect(
        (await t.request('GET', token.startsWith('ns_') ? '/v1/unknown' : '/api/status', { token })).status,
      ).toBe(401)
    // Its slug is free again for someone else.
    const now = t.clock.now()
    const other = await t.createUser()
    await exec(
      t.store.orm.insert(apps).values({
        id: '-Nslugreuse000000000',
        userId: other.user.id,
        appName: 'x',
        slug: `my-app-${u.user.id.slice(-8)}`,
        createdAt: now,
        updatedAt: now,
      }),
    )
  })

  it('fails closed when Stripe errors after retries: 502 PAYMENT_ERROR, nothing erased, account usable', async () => {
    const b = billing()
    const { t, em } = b
    const u = await t.createUser()
    await seedFullAccount(t, u)
    const { sub } = await giveSubscription(b, u)
    const before = await ownedRowIds(t, u.user.id)
    em.failNext(10, { kind: 'status', status: 500 })
    const r = await t.json('DELETE', '/api/account', { token: u.apiKey })
    expect(r.status).toBe(502)
    expect(expectApiError(r.body, 'PAYMENT_ERROR').message).toContain('nothing was deleted')
    expect(await ownedRowIds(t, u.user.id)).toEqual(before)
    expect((await t.request('GET', '/api/status', { token: u.apiKey })).status).toBe(200)
    expect(em.subscriptions.get(sub.id)?.status).toBe('active')
    const [job] = await receiptsOf(t, u.user.id)
    expect(job).toMatchObject({ step: 'requested', attempts: 1 })
    expect(job?.lastError).toBeTruthy()
    // Stripe recovers; the client retries and the deletion completes.
    em.recover()
    expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
    await expectErased(t, u.user.id)
    expect(em.subscriptions.get(sub.id)?.status).toBe('canceled')
    expect(await receiptsOf(t, u.user.id)).toHaveLength(1)
  }, 20_000)

  it('fails closed on 429 and on a hang past the timeout; the worker completes it once Stripe recovers', async () => {
    for (const fault of ['429', 'hang'] as const) {
      const b = billing()
      const { t, em } = b
      const u = await t.createUser()
      const { customer } = await giveSubscription(b, u)
      if (fault === '429') em.failNext(5, { kind: 'status', status: 429 })
      else em.hang()
      const r = await t.json('DELETE', '/api/account', { token: u.apiKey })
      expect({ fault, status: r.status }).toEqual({ fault, status: 502 })
      expect(await one(t.store.orm.select().from(users).where(eq(users.id, u.user.id)))).toBeDefined()
      expect((await t.request('GET', '/api/account', { token: u.apiKey })).status).toBe(200)
      em.recover()
      // Within the backoff the worker leaves it alone; after it, the worker finishes the job.
      expect((await purgeOnce(t.deps)).resumed).toBe(0)
      t.clock.advance(MINUTE)
      expect((await purgeOnce(t.deps)).resumed).toBe(1)
      await expectErased(t, u.user.id)
      expect(em.customers.get(customer.id)?.deleted).toBe(true)
    }
  }, 30_000)

  it('refuses every credential from the requested step on, before anything is erased', async () => {
    const b = billing()
    const { t, em } = b
    const u = await t.createUser()
    await giveSubscription(b, u)
    em.hang() // Stripe never answers: the deletion sits in `requested`
    const pending = t.request('DELETE', '/api/account', { token: u.apiKey })
    await Bun.sleep(50)
    expect((await receiptsOf(t, u.user.id))[0]?.step).toBe('requested')
    expect((await t.request('GET', '/api/status', { token: u.apiKey })).status).toBe(401)
    expect((await t.request('GET', '/v1/account/me', { token: u.session })).status).toBe(401)
    // Once Stripe answers, the SDK's retry goes through and the deletion completes.
    em.recover()
    expect((await pending).status).toBe(204)
    await expectErased(t, u.user.id)
  }, 20_000)

  it('resumes a deletion interrupted after billing_stopped without repeating Stripe calls that would fail', async () => {
    const b = billing()
    const { t, em } = b
    const u = await t.createUser()
    await seedFullAccount(t, u)
    const { sub, customer } = await giveSubscription(b, u)
    // A process that stops right after recording billing_stopped (crash between steps).
    const crashing = { ...t.deps, deletionFaults: pauseAfter('billing_stopped') }
    void eraseAccount(crashing, u.user.id, 'immediate')
    for (let i = 0; i < 100 && (await receiptsOf(t, u.user.id))[0]?.step !== 'billing_stopped'; i++)
      await Bun.sleep(10)
    expect((await receiptsOf(t, u.user.id))[0]?.step).toBe('billing_stopped')
    const destructive = () => em.calls.filter((c) => c.method === 'DELETE').length
    expect(destructive()).toBe(2)
    // The lease of the dead runner expires; the worker takes over.
    t.clock.advance(2 * MINUTE)
    expect((await purgeOnce(t.deps)).resumed).toBe(1)
    await expectErased(t, u.user.id)
    expect(destructive()).toBe(2)
    expect(em.subscriptions.get(sub.id)?.status).toBe('canceled')
    expect(em.customers.get(customer.id)?.deleted).toBe(true)
  })

  it('counts resource_missing as done when Stripe already did the work before a crash', async () => {
    const b = billing()
    const { t, em } = b
    const u = await t.createUser()
    const { sub, customer } = await giveSubscription(b, u)
    const crashing = { ...t.deps, deletionFaults: pauseAfter('requested') }
    void eraseAccount(crashing, u.user.id, 'immediate')
    await Bun.sleep(20)
    // Stripe did the work, but the process died before recording it.
    em.subscriptions.get(sub.id)!.status = 'canceled'
    em.customers.get(customer.id)!.deleted = true
    t.clock.advance(2 * MINUTE)
    expect((await purgeOnce(t.deps)).resumed).toBe(1)
    await expectErased(t, u.user.id)
    expect((await receiptsOf(t, u.user.id))[0]?.stripeActions).toEqual([
      `subscription ${sub.id} already ended`,
      `customer ${customer.id} already gone`,
    ])
  })

  it('replays 204 to a retry with the same Idempotency-Key after the account is gone; 401 without it', async () => {
    const { t } = billing()
    const u = await t.createUser()
    const headers = { 'idempotency-key': 'delete-me-once' }
    expect((await t.request('DELETE', '/api/account', { token: u.apiKey, headers })).status).toBe(204)
    const replay = await t.request('DELETE', '/api/account', { token: u.apiKey, headers })
    expect(replay.status).toBe(204)
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(401)
    expect(
      (
        await t.request('DELETE', '/api/account', {
          token: u.apiKey,
          headers: { 'idempotency-key': 'other' },
        })
      ).status,
    ).toBe(401)
    expect((await t.request('DELETE', '/api/account', { token: u.session, headers })).status).toBe(401)
  })

  it('deletes cleanly a user without a Stripe customer, and on a server with billing disabled', async () => {
    const { t } = billing()
    const u = await t.createUser()
    expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
    expect((await receiptsOf(t, u.user.id))[0]?.stripeActions).toEqual(['no stripe customer'])
    const off = createTestApp()
    const v = await off.createUser()
    await seedFullAccount(off, v)
    expect((await off.request('DELETE', '/api/account', { token: v.apiKey })).status).toBe(204)
    await expectErased(off, v.user.id)
    expect((await receiptsOf(off, v.user.id))[0]?.stripeActions).toEqual(['billing disabled'])
  })

  it('dry run changes nothing, and its counts are what the real run then erases', async () => {
    const b = billing()
    const { t, em } = b
    const u = await t.createUser()
    await seedFullAccount(t, u)
    const { sub, customer } = await giveSubscription(b, u)
    const before = await ownedRowIds(t, u.user.id)
    const dry = await t.json('DELETE', '/api/account?dryRun=true', { token: u.apiKey })
    expect(dry.status).toBe(200)
    expect(dry.body).toMatchObject({
      dryRun: true,
      stripe: { customerId: customer.id, subscriptions: [sub.id] },
    })
    expect(await ownedRowIds(t, u.user.id)).toEqual(before)
    expect(em.subscriptions.get(sub.id)?.status).toBe('active')
    expect(em.calls.filter((c) => c.method !== 'GET')).toHaveLength(0)
    expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
    expect((await receiptsOf(t, u.user.id))[0]?.counts).toEqual(dry.body.counts)
  })

  it("leaves every other user's rows untouched (users with near-identical data)", async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const people: TestUser[] = []
    for (let i = 0; i < 5; i++) {
      const u = await t.createUser({ email: `same${i}@example.com` })
      await seedFullAccount(t, u, { appNames: ['My App', 'My App 2'], metadata: { shared: true } })
      people.push(u)
    }
    for (const victim of [people[2], people[0]] as TestUser[]) {
      const others: TestUser[] = []
      for (const p of people)
        if (p !== victim && (await receiptsOf(t, p.user.id)).length === 0) others.push(p)
      const before = await Promise.all(others.map((o) => ownedRowIds(t, o.user.id)))
      expect((await t.request('DELETE', '/api/account', { token: victim.apiKey })).status).toBe(204)
      await expectErased(t, victim.user.id)
      expect(await Promise.all(others.map((o) => ownedRowIds(t, o.user.id)))).toEqual(before)
      for (const o of others)
        expect((await t.request('GET', '/api/account/export', { token: o.apiKey })).status).toBe(200)
    }
  })
})

describe('/v1 deletion in two stages', () => {
  it('soft-deletes, restores inside the grace period, and is hard-deleted by the worker after it', async () => {
    const b = billing()
    const { t, em } = b
    const u = await t.createUser()
    await seedFullAccount(t, u)
    const { sub } = await giveSubscription(b, u)
    const runtime = await t.runtimeKey(u)
    const revoked = await t.runtimeKey(u)
    await t.exec(
      'UPDATE api_keys SET is_active = false, revoked_at = ? WHERE id = (SELECT id FROM api_keys ORDER BY created_at DESC, id DESC LIMIT 1)',
      t.clock.now(),
    )

    const r = await t.json('DELETE', '/v1/account/me', { token: u.session })
    expect(r.status).toBe(202)
    expect(r.body.user.soft_deleted_at).toBe(new Date(t.clock.now()).toISOString())
    expect(r.body.user.delete_scheduled_at).toBe(new Date(t.clock.now() + 30 * DAY).toISOString())
    expect(em.subscriptions.get(sub.id)?.cancel_at_period_end).toBe(true)
    expect((await t.request('GET', '/v1/unknown', { token: runtime })).status).toBe(403)
    const live = await many(t.store.orm.select().from(sandboxes).where(eq(sandboxes.teamId, u.team.id)))
    expect(live.every((s) => s.status === 'destroyed' && s.destroyedAt !== null)).toBe(true)
    const blocked = await t.json('PATCH', '/v1/account/me', { token: u.session, body: { name: 'x' } })
    expectV1Error(blocked.body, 'account_deleted', blocked.headers)
    expect((await t.request('GET', '/v1/account/me', { token: u.session })).status).toBe(200)
    expect((await t.request('GET', '/v1/account/export', { token: u.session })).status).toBe(200)

    t.clock.advance(10 * DAY)
    // A client signs in again days later: a fresh session token for the same user.
    u.session = await t.session(u.user.id, u.user.email)
    const restored = await t.json('POST', '/v1/account/restore', { token: u.session })
    expect(restored.status).toBe(200)
    expect(restored.body.user).toMatchObject({ soft_deleted_at: null, delete_scheduled_at: null })
    expect(em.subscriptions.get(sub.id)?.cancel_at_period_end).toBe(false)
    expect((await t.request('GET', '/v1/unknown', { token: runtime })).status).toBe(404)
    expect((await t.request('GET', '/v1/unknown', { token: revoked })).status).toBe(401)
    expect(
      (await t.request('PATCH', '/v1/account/me', { token: u.session, body: { name: 'back' } })).status,
    ).toBe(200)

    expect((await t.request('POST', '/v1/account/delete', { token: u.session })).status).toBe(202)
    t.clock.advance(30 * DAY - 1)
    expect((await purgeOnce(t.deps)).hardDeleted).toBe(0)
    t.clock.advance(1)
    u.session = await t.session(u.user.id, u.user.email)
    const restoreLate = await t.json('POST', '/v1/account/restore', { token: u.session })
    expect(restoreLate.status).toBe(409)
    expect((await purgeOnce(t.deps)).hardDeleted).toBe(1)
    await expectErased(t, u.user.id)
    expect(em.subscriptions.get(sub.id)?.status).toBe('canceled')
    expect((await receiptsOf(t, u.user.id)).at(-1)).toMatchObject({ mode: 'scheduled', step: 'done' })
    expect((await t.request('GET', '/v1/account/me', { token: u.session })).status).toBe(401)
  })

  it('honours a grace period of 0 days', async () => {
    const t = createTestApp({ env: { ACCOUNT_DELETION_GRACE_DAYS: '0' } })
    const u = await t.createUser()
    expect((await t.request('DELETE', '/v1/account/me', { token: u.session })).status).toBe(202)
    expect((await purgeOnce(t.deps)).hardDeleted).toBe(1)
    await expectErased(t, u.user.id)
  })

  it('needs a verified email, and refuses restore when nothing is pending', async () => {
    const t = createTestApp()
    const unverified = await t.createUser({ verified: false })
    const r = await t.json('DELETE', '/v1/account/me', { token: unverified.session })
    expect(r.status).toBe(403)
    expectV1Error(r.body, 'email_not_verified', r.headers)
    const u = await t.createUser()
    const restore = await t.json('POST', '/v1/account/restore', { token: u.session })
    expect(restore.status).toBe(409)
    expectV1Error(restore.body, 'conflict', restore.headers)
  })

  it('fails closed when Stripe cannot set the cancellation: nothing changes', async () => {
    const b = billing()
    const { t, em } = b
    const u = await t.createUser()
    await giveSubscription(b, u)
    const runtime = await t.runtimeKey(u)
    em.failNext(10)
    const r = await t.json('DELETE', '/v1/account/me', { token: u.session })
    expect(r.status).toBe(503)
    expectV1Error(r.body, 'feature_unavailable', r.headers)
    expect(
      (await one(t.store.orm.select().from(users).where(eq(users.id, u.user.id))))?.softDeletedAt,
    ).toBeNull()
    expect((await t.request('GET', '/v1/unknown', { token: runtime })).status).toBe(404)
  }, 20_000)

  it('dry run answers the counts and Stripe objects, changing nothing', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    await seedFullAccount(t, u)
    const before = await ownedRowIds(t, u.user.id)
    const r = await t.json('DELETE', '/v1/account/me?dryRun=true', { token: u.session })
    expect(r.status).toBe(200)
    expect(r.body.dry_run).toBe(true)
    expect(r.body.stripe).toBeNull()
    expect(r.body.counts.sandboxes).toBe(3)
    expect(await ownedRowIds(t, u.user.id)).toEqual(before)
    expect(
      (await one(t.store.orm.select().from(users).where(eq(users.id, u.user.id))))?.softDeletedAt,
    ).toBeNull()
  })
})

describe('operator hard delete', () => {
  it('refuses an account that is not soft-deleted, or that still runs a sandbox; then erases it', async () => {
    const b = billing()
    const { t, em } = b
    const op = await t.createUser({ operator: true })
    const u = await t.createUser()
    const { customer } = await giveSubscription(b, u)
    const notSoft = await t.json('DELETE', `/v1/admin/users/${u.user.id}`, { token: op.session })
    expect(notSoft.status).toBe(409)
    expectV1Error(notSoft.body, 'account_not_soft_deleted', notSoft.headers)
    expect((await t.request('DELETE', '/v1/account/me', { token: u.session })).status).toBe(202)
    const now = t.clock.now()
    await insertRunningSandbox(t, u, 'sb_stillrunning')
    const busy = await t.json('DELETE', `/v1/admin/users/${u.user.id}`, { token: op.session })
    expect(busy.status).toBe(409)
    expectV1Error(busy.body, 'account_hard_delete_active_resources', busy.headers)
    await exec(
      t.store.orm
        .update(sandboxes)
        .set({ status: 'destroyed', destroyedAt: now })
        .where(eq(sandboxes.id, 'sb_stillrunning')),
    )
    const dry = await t.json('DELETE', `/v1/admin/users/${u.user.id}?dryRun=true`, { token: op.session })
    expect(dry.body.dry_run).toBe(true)
    const done = await t.json('DELETE', `/v1/admin/users/${u.user.id}`, { token: op.session })
    expect(done.status).toBe(200)
    expect(done.body.deletion).toMatchObject({
      mode: 'operator',
      step: 'done',
      user_hash: hashUserId(u.user.id),
    })
    expect(done.body.deletion.counts).toEqual(dry.body.counts)
    await expectErased(t, u.user.id)
    expect(em.customers.get(customer.id)?.deleted).toBe(true)
    const missing = await t.json('DELETE', `/v1/admin/users/${u.user.id}`, { token: op.session })
    expectV1Error(missing.body, 'account_not_found', missing.headers)
  })

  it('lists deletion jobs and receipts without personal data', async () => {
    const t = createTestApp()
    const op = await t.createUser({ operator: true })
    const victims = [await t.createUser(), await t.createUser(), await t.createUser()]
    for (const v of victims) {
      await t.request('DELETE', '/api/account', { token: v.apiKey })
      t.clock.advance(1000)
    }
    const first = await t.json('GET', '/v1/admin/deletions?limit=2', { token: op.session })
    expect(first.status).toBe(200)
    expect(first.body.deletions).toHaveLength(2)
    expect(first.body.deletions[0].user_hash).toBe(hashUserId(victims[2]?.user.id as string))
    const rest = await t.json('GET', `/v1/admin/deletions?limit=2&next_token=${first.body.next_token}`, {
      token: op.session,
    })
    expect(rest.body.deletions).toHaveLength(1)
    expect(rest.body.next_token).toBeNull()
    const text = first.text + rest.text
    for (const v of victims) {
      expect(text).not.toContain(v.user.email)
      expect(text).not.toContain(v.user.id)
    }
  })
})

// PostgreSQL keeps dead row versions until VACUUM; an erasure runs it on what it touched, the
// stored files (sites, icons, certificates) included (docs/postgresql.md).
if (onPostgres)
  describe('erasure on PostgreSQL', () => {
    it('vacuums the tables it touched, stored files included, and leaves no dead rows there', async () => {
      const t = createTestApp()
      const u = await t.createUser()
      const seeded = await seedFullAccount(t, u)
      await writeStoredFiles(t, seeded.appIds)
      expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
      const watched = ['stored_files', 'sandboxes', 'apps', 'users']
      let stats: { relname: string; last_vacuum: unknown; n_dead_tup: number }[] = []
      for (let attempt = 0; attempt < 100; attempt++) {
        stats = await t.rows(
          `SELECT relname, last_vacuum, n_dead_tup FROM pg_stat_user_tables WHERE relname IN (${watched.map(() => '?').join(', ')}) ORDER BY relname`,
          ...watched,
        )
        if (stats.length === watched.length && stats.every((s) => s.last_vacuum !== null)) break
        await Bun.sleep(50)
      }
      expect(
        stats.map((s) => ({
          table: s.relname,
          vacuumed: s.last_vacuum !== null,
          dead: Number(s.n_dead_tup),
        })),
      ).toEqual([...watched].sort().map((table) => ({ table, vacuumed: true, dead: 0 })))
    })
  })
