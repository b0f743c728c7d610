import { describe, expect, it } from 'bun:test'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { and, eq } from 'drizzle-orm'
import { t as types } from 'elysia'
import { exec, many, one } from '../../db/query'
import { idempotencyKeys, quotaTiers, quotaUsage, sandboxes, teams, users } from '../../db/tables'
import { HOUR, MINUTE } from '../../src/lib/clock'
import { utcDay } from '../../src/lib/time'
import { V1Sandbox } from '../../src/projections/v1'
import { expiredSandboxes, sweepExpiredSandboxes } from '../../src/services/sandboxes'
import { purgeOnce } from '../../src/workers/purge'
import { expectV1Error } from '../support/envelopes'
import { createTestApp, type TestApp, type TestUser } from '../support/harness'
import { itSqlite, onPostgres, sqliteOf } from '../support/test-database'

const env = { RATE_LIMIT_ENABLED: 'false' }
const SandboxList = TypeCompiler.Compile(types.Array(V1Sandbox))
// Creates answer a ready Response (no response validation by Elysia): checked against V1Sandbox here.
const SandboxOne = TypeCompiler.Compile(V1Sandbox)
let counter = 0
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

function create(
  t: TestApp,
  token: string,
  body: Record<string, unknown> = {},
  key: string | null = `k-${++counter}`,
) {
  return t.json('POST', '/v1/sandboxes', {
    token,
    body,
    headers: key === null ? {} : { 'idempotency-key': key },
  })
}

/** Puts the user's team on a tier of its own with these limits. */
async function tier(
  t: TestApp,
  u: TestUser,
  limits: { creates?: number; concurrent?: number; gbHours?: number },
) {
  const id = `tier-${++counter}`
  await exec(
    t.store.orm.insert(quotaTiers).values({
      id,
      displayName: id,
      dailySandboxCreates: limits.creates ?? 1000,
      maxConcurrentSandboxes: limits.concurrent ?? 1000,
      dailyGbHours: limits.gbHours ?? 1e6,
    }),
  )
  await exec(t.store.orm.update(teams).set({ quotaTierId: id }).where(eq(teams.id, u.team.id)))
  await exec(t.store.orm.update(users).set({ quotaTierId: id, tier: id }).where(eq(users.id, u.user.id)))
}
const usageOf = async (t: TestApp, u: TestUser, day = utcDay(t.clock.now())) =>
  await one(
    t.store.orm
      .select()
      .from(quotaUsage)
      .where(and(eq(quotaUsage.teamId, u.team.id), eq(quotaUsage.usageDate, day))),
  )

describe('POST /v1/sandboxes', () => {
  it('records a running sandbox with defaults, for a runtime key or a session', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const r = await create(t, await t.runtimeKey(u))
    expect(r.status).toBe(201)
    expect(SandboxOne.Check(r.body)).toBe(true)
    expect(r.body).toEqual({
      id: expect.stringMatching(/^sb_[A-Za-z0-9]{20}$/),
      status: 'running',
      template: 'base',
      config: { vcpus: 1, memory_mb: 256, disk_mb: null },
      metadata: null,
      created_at: new Date(t.clock.now()).toISOString(),
      started_at: new Date(t.clock.now()).toISOString(),
      timeout_ms: null,
      timeout_at: null,
      timeout_action: 'destroy',
      destroyed_at: null,
    })
    // No metadata is stored as SQL NULL, not the JSON text 'null' (exports show the stored value).
    expect(await t.row('SELECT metadata IS NULL AS missing FROM sandboxes WHERE id = ?', r.body.id)).toEqual({
      missing: 1,
    })
    const full = await create(t, u.session, {
      template: 'python-3.12',
      vcpus: 2,
      memory_mb: 2048,
      disk_mb: 4096,
      timeout_ms: 60_000,
      timeout_action: 'hibernate',
      metadata: { job: 42 },
    })
    expect(SandboxOne.Check(full.body)).toBe(true)
    expect(full.body).toMatchObject({
      template: 'python-3.12',
      config: { vcpus: 2, memory_mb: 2048, disk_mb: 4096 },
      metadata: { job: 42 },
      timeout_ms: 60_000,
      timeout_action: 'hibernate',
    })
    expect(full.body.timeout_at).toBe(new Date(t.clock.now() + 60_000).toISOString())
    expect((await usageOf(t, u))?.sandboxCreates).toBe(2)
  })

  it('requires an Idempotency-Key, and replays the sandbox for a repeated one', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const key = await t.runtimeKey(u)
    const missing = await create(t, key, {}, null)
    expect(missing.status).toBe(400)
    expectV1Error(missing.body, 'invalid_request', missing.headers)
    const first = await create(t, key, {}, 'same')
    const again = await create(t, key, {}, 'same')
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.body.id).toBe(first.body.id)
    expect(await many(t.store.orm.select().from(sandboxes))).toHaveLength(1)
    expect((await usageOf(t, u))?.sandboxCreates).toBe(1)
  })

  it('stores a create’s answer with the sandbox, in one transaction, and a refused create not at all', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const key = await t.runtimeKey(u)
    await tier(t, u, { creates: 1 })
    const send = (idempotencyKey: string) =>
      t.request('POST', '/v1/sandboxes', {
        token: key,
        headers: { 'idempotency-key': idempotencyKey },
        body: {},
      })
    const first = await send('one')
    const firstText = await first.text()
    expect(first.status).toBe(201)
    const stored = await many(t.store.orm.select().from(idempotencyKeys))
    expect(stored.map((row) => [row.state, row.status, row.body, row.contentType])).toEqual([
      ['done', 201, firstText, first.headers.get('content-type')],
    ])
    const again = await send('one')
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'))
    expect(await again.text()).toBe(firstText)
    // Over the quota: the transaction rolls back, the 429 is not stored (docs/spec/traffic.md §3), and the
    // same key runs anew once the quota allows it.
    const refused = await send('two')
    expect(refused.status).toBe(429)
    await tier(t, u, { creates: 5 })
    const retried = await send('two')
    expect(retried.status).toBe(201)
    expect(retried.headers.get('idempotent-replayed')).toBeNull()
    expect(await many(t.store.orm.select().from(sandboxes))).toHaveLength(2)
  })

  it('claims the key in the create’s own transaction: a concurrent duplicate replays, a refusal is stored', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const key = await t.runtimeKey(u)
    // Five at once with one key: the claim commits with the first sandbox, so the others find the
    // finished answer (never an in-progress claim) and replay it.
    const same = await Promise.all(Array.from({ length: 5 }, () => create(t, key, { memory_mb: 512 }, 'dup')))
    expect(same.map((r) => r.status)).toEqual([201, 201, 201, 201, 201])
    expect(new Set(same.map((r) => r.body.id)).size).toBe(1)
    expect(same.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(4)
    expect(await many(t.store.orm.select().from(sandboxes))).toHaveLength(1)
    expect((await usageOf(t, u))?.sandboxCreates).toBe(1)
    // Refused by validation, before the route's transaction: the 400 is recorded under the key,
    // so the key stays bound to that request (the same request is refused the same way again).
    const invalid = await create(t, key, { vcpus: 0 }, 'bad')
    expect(invalid.status).toBe(400)
    const invalidAgain = await create(t, key, { vcpus: 0 }, 'bad')
    expect([invalidAgain.status, invalidAgain.body.error]).toEqual([invalid.status, invalid.body.error])
    // Another request under a used key: refused, and nothing is created or stored for it.
    for (const [body, used] of [
      [{ memory_mb: 256 }, 'dup'],
      [{}, 'bad'],
    ] as const) {
      const reused = await create(t, key, body, used)
      expect(reused.status).toBe(422)
      expectV1Error(reused.body, 'conflict', reused.headers)
    }
    const rows = await many(t.store.orm.select().from(idempotencyKeys))
    expect(rows.map((row) => [row.key, row.state, row.status]).sort()).toEqual([
      ['bad', 'done', 400],
      ['dup', 'done', 201],
    ])
    expect(await many(t.store.orm.select().from(sandboxes))).toHaveLength(1)
  })

  it('validates every field', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const key = await t.runtimeKey(u)
    for (const [body, field] of [
      [{ vcpus: 0 }, 'vcpus'],
      [{ vcpus: 1.5 }, 'vcpus'],
      [{ memory_mb: 64 }, 'memory_mb'],
      [{ disk_mb: 10 }, 'disk_mb'],
      [{ timeout_ms: 10 }, 'timeout_ms'],
      [{ timeout_action: 'explode' }, 'timeout_action'],
      [{ template: '' }, 'template'],
      [{ template: '../etc' }, 'template'],
      [{ metadata: 'tags' }, 'metadata'],
      [{ metadata: { big: 'x'.repeat(9000) } }, 'metadata'],
    ] as const) {
      const r = await create(t, key, body)
      expect({ field, status: r.status }).toEqual({ field, status: 400 })
      expectV1Error(r.body, 'invalid_fields', r.headers)
      expect(r.body.error_detail.fields[0].field).toBe(field)
    }
    expect(await many(t.store.orm.select().from(sandboxes))).toHaveLength(0)
  })
})

describe('quotas', () => {
  it('lets exactly 10 of 50 concurrent creates through a tier of 10 a day', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await tier(t, u, { creates: 10 })
    const key = await t.runtimeKey(u)
    const answers = await Promise.all(Array.from({ length: 50 }, () => create(t, key)))
    expect(answers.filter((a) => a.status === 201)).toHaveLength(10)
    const refused = answers.filter((a) => a.status === 429)
    expect(refused).toHaveLength(40)
    const day = utcDay(t.clock.now())
    for (const r of refused) {
      expectV1Error(r.body, 'quota_exceeded', r.headers)
      expect(r.body.error).toBe(`Daily sandbox create quota exceeded (10/10 for ${day}).`)
      expect(r.body.error_detail).toEqual({ limit: 10, used: 10, usage_date: day })
    }
    expect(await many(t.store.orm.select().from(sandboxes))).toHaveLength(10)
    // Every refusal is counted (the console's overview), by day and kind of limit.
    expect(await t.rows('SELECT usage_date, quota, refusals FROM quota_refusals')).toEqual([
      { usage_date: day, quota: 'daily_creates', refusals: 40 },
    ])
    expect((await usageOf(t, u))?.sandboxCreates).toBe(10)
  })

  it('holds the concurrency limit under concurrent creates, and frees a slot on destroy', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await tier(t, u, { concurrent: 5 })
    const key = await t.runtimeKey(u)
    const answers = await Promise.all(Array.from({ length: 30 }, () => create(t, key)))
    const created = answers.filter((a) => a.status === 201)
    expect(created).toHaveLength(5)
    const refused = answers.find((a) => a.status === 429) as { body: any }
    expect(refused.body.error).toBe('Concurrent sandbox quota exceeded (5/5).')
    expect((await usageOf(t, u))?.sandboxCreates).toBe(5)
    // Paused sandboxes still hold capacity; destroyed ones do not.
    await t.request('POST', `/v1/sandboxes/${created[0]?.body.id}/hibernate`, { token: key })
    expect((await create(t, key)).status).toBe(429)
    await t.request('DELETE', `/v1/sandboxes/${created[1]?.body.id}`, { token: key })
    expect((await create(t, key)).status).toBe(201)
  })

  it('refuses creates once the day’s GB-hours are used, counting running sandboxes as they run', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await tier(t, u, { gbHours: 2 })
    t.clock.set(Date.UTC(2026, 2, 10, 8, 0, 0))
    const key = await t.runtimeKey(u)
    expect((await create(t, key, { memory_mb: 1024 })).status).toBe(201)
    t.clock.advance(HOUR)
    expect((await create(t, key, { memory_mb: 1024 })).status).toBe(201)
    t.clock.advance(30 * MINUTE) // 1.5 + 0.5 = 2 GB-hours used
    const r = await create(t, key)
    expect(r.status).toBe(429)
    expect(r.body.error).toBe('Daily GB-hour quota exceeded (2.00/2 for 2026-03-10).')
    expect(r.body.error_detail).toEqual({ limit: 2, used: 2, usage_date: '2026-03-10' })
  })

  it('does not charge a create that fails after the quota was taken', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const key = await t.runtimeKey(u)
    expect((await create(t, key)).status).toBe(201)
    // The insert fails after the usage row was incremented, in the same transaction.
    if (onPostgres) {
      await t.exec(
        "CREATE FUNCTION explode() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
      )
      await t.exec(
        "CREATE TRIGGER explode BEFORE INSERT ON sandboxes FOR EACH ROW WHEN (NEW.template = 'explode') EXECUTE FUNCTION explode()",
      )
    } else
      await t.exec(
        "CREATE TRIGGER explode BEFORE INSERT ON sandboxes WHEN NEW.template = 'explode' BEGIN SELECT RAISE(ABORT, 'disk full'); END",
      )
    const failed = await create(t, key, { template: 'explode' }, 'will-fail')
    expect(failed.status).toBe(500)
    expectV1Error(failed.body, 'internal_error', failed.headers)
    expect((await usageOf(t, u))?.sandboxCreates).toBe(1)
    expect(
      await many(t.store.orm.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, 'will-fail'))),
    ).toHaveLength(0)
  })
})

describe('reading sandboxes', () => {
  it("answers sandbox_not_found for another team's sandbox on every route", async () => {
    const t = createTestApp({ env })
    const owner = await t.createUser()
    const other = await t.createUser()
    const { id } = (await create(t, await t.runtimeKey(owner))).body
    const key = await t.runtimeKey(other)
    for (const [method, path, body] of [
      ['GET', `/v1/sandboxes/${id}`],
      ['DELETE', `/v1/sandboxes/${id}`],
      ['POST', `/v1/sandboxes/${id}/timeout`, { timeout_ms: 5000 }],
      ['POST', `/v1/sandboxes/${id}/hibernate`],
      ['POST', `/v1/sandboxes/${id}/resume`],
    ] as const) {
      const r = await t.json(method, path, { token: key, body })
      expect({ path, method, status: r.status }).toEqual({ path, method, status: 404 })
      expectV1Error(r.body, 'sandbox_not_found', r.headers)
    }
    expect((await t.json('GET', `/v1/sandboxes/${id}`, { token: owner.session })).body.status).toBe('running')
  })

  it('lists live sandboxes as a bare array, and filtered pages as an object', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const key = await t.runtimeKey(u)
    const a = (await create(t, key, { template: 'node', metadata: { env: 'prod', n: 1, on: true } })).body
    t.clock.advance(1)
    const b = (await create(t, key, { template: 'python', metadata: { env: 'dev', n: 2 } })).body
    t.clock.advance(1)
    const c = (await create(t, key, { template: 'node', metadata: { env: 'prod', n: 3 } })).body
    await t.request('DELETE', `/v1/sandboxes/${b.id}`, { token: key })
    await t.request('POST', `/v1/sandboxes/${c.id}/hibernate`, { token: key })
    const bare = await t.json('GET', '/v1/sandboxes', { token: key })
    expect(bare.body.map((s: any) => s.id)).toEqual([c.id, a.id])
    // The list answers skip Elysia's response validation (see the route): check them here.
    expect(SandboxList.Check(bare.body)).toBe(true)
    expect(bare.headers.get('content-type')).toStartWith('application/json')
    expect(bare.headers.get('x-request-id')).toBeTruthy()
    const ids = async (query: string) => {
      const r = await t.json('GET', `/v1/sandboxes?${query}`, { token: key })
      expect(Object.keys(r.body)).toEqual(['sandboxes', 'next_token'])
      expect(SandboxList.Check(r.body.sandboxes)).toBe(true)
      return r.body.sandboxes.map((s: any) => s.id)
    }
    expect(await ids('state=destroyed')).toEqual([b.id])
    expect(await ids('state=running,paused')).toEqual([c.id, a.id])
    expect(await ids('template=node')).toEqual([c.id, a.id])
    expect(await ids(`metadata=${encodeURIComponent('{"env":"prod"}')}`)).toEqual([c.id, a.id])
    expect(await ids(`metadata=${encodeURIComponent('{"env":"prod","n":1,"on":true}')}`)).toEqual([a.id])
    expect(await ids('limit=1')).toEqual([c.id])
    for (const bad of [
      'state=sleeping',
      'metadata=%5B1%5D',
      'metadata=notjson',
      'limit=0',
      'limit=101',
      'next_token=forged',
    ]) {
      const r = await t.json('GET', `/v1/sandboxes?${bad}`, { token: key })
      expect({ bad, status: r.status }).toEqual({ bad, status: 400 })
    }
  })

  it('pages through 1,000 sandboxes exactly once each while new ones are being created', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await tier(t, u, { concurrent: 100_000, creates: 100_000 })
    const key = await t.runtimeKey(u)
    const now = t.clock.now()
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      id: `sb_page${String(i).padStart(6, '0')}`,
      teamId: u.team.id,
      userId: u.user.id,
      template: 'base',
      status: 'running' as const,
      vcpus: 1,
      memoryMb: 256,
      // Many share a timestamp: the id breaks the tie.
      createdAt: now - Math.floor(i / 7),
      updatedAt: now,
      startedAt: now,
      chargedUntil: now,
    }))
    for (let i = 0; i < rows.length; i += 250)
      await exec(t.store.orm.insert(sandboxes).values(rows.slice(i, i + 250)))
    const seen: string[] = []
    let token: string | null = null
    do {
      const r: { body: { sandboxes: { id: string }[]; next_token: string | null } } = await t.json(
        'GET',
        `/v1/sandboxes?limit=37${token ? `&next_token=${token}` : ''}`,
        { token: key },
      )
      seen.push(...r.body.sandboxes.map((s) => s.id))
      token = r.body.next_token
      t.clock.advance(1)
      await create(t, key) // a new one appears between pages
    } while (token)
    const original = seen.filter((id) => id.startsWith('sb_page'))
    expect(original).toHaveLength(1000)
    expect(new Set(original).size).toBe(1000)
  })
})

describe('lifecycle and GB-hours', () => {
  it('charges GB-hours to each UTC day a sandbox ran, across midnight', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const key = await t.runtimeKey(u)
    t.clock.set(Date.UTC(2026, 4, 1, 23, 0, 0))
    const { id } = (await create(t, key, { memory_mb: 2048 })).body
    t.clock.set(Date.UTC(2026, 4, 2, 2, 30, 0))
    expect((await t.request('DELETE', `/v1/sandboxes/${id}`, { token: key })).status).toBe(204)
    expect((await usageOf(t, u, '2026-05-01'))?.gbHours).toBeCloseTo(2, 9) // 2 GiB × 1 h
    expect((await usageOf(t, u, '2026-05-02'))?.gbHours).toBeCloseTo(5, 9) // 2 GiB × 2.5 h
    const gone = (await t.json('GET', `/v1/sandboxes/${id}`, { token: key })).body
    expect(gone).toMatchObject({ status: 'destroyed', destroyed_at: new Date(t.clock.now()).toISOString() })
    // Destroying again changes nothing and charges nothing.
    expect((await t.request('DELETE', `/v1/sandboxes/${id}`, { token: key })).status).toBe(204)
    expect((await usageOf(t, u, '2026-05-02'))?.gbHours).toBeCloseTo(5, 9)
    // The clock moved far past the session's one-hour lifetime: sign in again.
    const session = await t.session(u.user.id, u.user.email)
    const me = await t.json('GET', '/v1/account/me', { token: session })
    expect(me.body.quota_usage.map((q: any) => [q.usage_date, q.gb_hours])).toEqual([
      ['2026-05-02', 5],
      ['2026-05-01', 2],
    ])
  })

  it('hibernates and resumes, charging only the time it ran', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const key = await t.runtimeKey(u)
    t.clock.set(Date.UTC(2026, 5, 1, 10, 0, 0))
    const { id } = (await create(t, key, { memory_mb: 1024 })).body
    t.clock.advance(HOUR)
    expect((await t.json('POST', `/v1/sandboxes/${id}/hibernate`, { token: key })).body.status).toBe('paused')
    t.clock.advance(5 * HOUR)
    expect((await t.json('POST', `/v1/sandboxes/${id}/resume`, { token: key })).body.status).toBe('running')
    t.clock.advance(HOUR)
    await t.request('DELETE', `/v1/sandboxes/${id}`, { token: key })
    expect((await usageOf(t, u))?.gbHours).toBeCloseTo(2, 9)
    const wrong = await t.json('POST', `/v1/sandboxes/${id}/resume`, { token: key })
    expect(wrong.status).toBe(409)
    expectV1Error(wrong.body, 'conflict', wrong.headers)
    expect(
      (await t.json('POST', `/v1/sandboxes/${id}/timeout`, { token: key, body: { timeout_ms: 5000 } }))
        .status,
    ).toBe(409)
  })

  it('sets timeouts; the sweeper destroys (or pauses) expired sandboxes and charges up to the deadline', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const key = await t.runtimeKey(u)
    t.clock.set(Date.UTC(2026, 6, 1, 12, 0, 0))
    const doomed = (await create(t, key, { memory_mb: 1024 })).body
    const sleepy = (
      await create(t, key, { memory_mb: 1024, timeout_ms: 30 * MINUTE, timeout_action: 'hibernate' })
    ).body
    const r = await t.json('POST', `/v1/sandboxes/${doomed.id}/timeout`, {
      token: key,
      body: { timeout_ms: HOUR },
    })
    expect(r.body).toEqual({
      timeout_ms: HOUR,
      timeout_at: new Date(t.clock.now() + HOUR).toISOString(),
      remaining_ms: HOUR,
      timeout_action: 'destroy',
    })
    t.clock.advance(3 * HOUR) // the sweeper runs late
    expect((await purgeOnce(t.deps)).sandboxesSwept).toBe(2)
    const after = (id: string) => t.json('GET', `/v1/sandboxes/${id}`, { token: key })
    expect((await after(doomed.id)).body).toMatchObject({
      status: 'destroyed',
      destroyed_at: '2026-07-01T13:00:00.000Z',
      timeout_at: null,
    })
    expect((await after(sleepy.id)).body).toMatchObject({ status: 'paused', timeout_at: null })
    expect((await usageOf(t, u))?.gbHours).toBeCloseTo(1.5, 9) // 1 h + 0.5 h, not 3 h each
    expect((await purgeOnce(t.deps)).sandboxesSwept).toBe(0)
    expect(r.body.timeout_at).toMatch(RFC3339)
  })

  it('drains a backlog of expired sandboxes larger than one sweep batch', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const key = await t.runtimeKey(u)
    await tier(t, u, {})
    for (let i = 0; i < 7; i++) await create(t, key, { timeout_ms: MINUTE })
    t.clock.advance(2 * MINUTE)
    expect(await sweepExpiredSandboxes(t.deps, 3)).toBe(7)
    const live = await t.json('GET', '/v1/sandboxes', { token: key })
    expect(live.body).toEqual([])
  })

  itSqlite(
    'keeps only sandboxes with a timeout in the sweeper’s index, and the sweeper seeks it',
    async () => {
      const t = createTestApp({ env })
      const u = await t.createUser()
      const key = await t.runtimeKey(u)
      await tier(t, u, {})
      for (let i = 0; i < 4; i++) await create(t, key)
      await create(t, key, { timeout_ms: MINUTE })
      const db = sqliteOf(t.store).sqlite
      const indexes = db.query('PRAGMA index_list(sandboxes)').all() as { name: string; partial: number }[]
      expect(indexes.find((ix) => ix.name === 'sandboxes_timeout_idx')?.partial).toBe(1)
      const entries = db
        .query(
          'SELECT count(*) AS n FROM sandboxes INDEXED BY sandboxes_timeout_idx WHERE timeout_at IS NOT NULL',
        )
        .get() as { n: number }
      expect(entries.n).toBe(1)
      const sweep = expiredSandboxes(t.store.orm, t.clock.now(), 500).toSQL()
      const plan = db.query(`EXPLAIN QUERY PLAN ${sweep.sql}`).all(...(sweep.params as [])) as {
        detail: string
      }[]
      expect(plan.map((row) => row.detail).join('\n')).toContain('USING INDEX sandboxes_timeout_idx')
    },
  )

  it('refuses sandbox creation to a soft-deleted account', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const key = await t.runtimeKey(u)
    expect((await t.request('DELETE', '/v1/account/me', { token: u.session })).status).toBe(202)
    // Suspended with the account: 403 account_deleted while it can still be restored.
    const refused = await create(t, key)
    expect(refused.status).toBe(403)
    expect(refused.body.code).toBe('account_deleted')
    const r = await create(t, u.session)
    expect(r.status).toBe(403)
    expectV1Error(r.body, 'account_deleted', r.headers)
  })
})

describe('sandboxes in export and erasure', () => {
  it('exports the sandboxes and usage the routes recorded, and erasure removes them', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const other = await t.createUser()
    const key = await t.runtimeKey(u)
    const kept = (await create(t, key, { metadata: { job: 'kept' } })).body
    const destroyed = (await create(t, key, { memory_mb: 1024 })).body
    t.clock.advance(HOUR)
    await t.request('DELETE', `/v1/sandboxes/${destroyed.id}`, { token: key })
    await create(t, await t.runtimeKey(other), { metadata: { job: 'theirs' } })

    const session = await t.session(u.user.id, u.user.email)
    const exported = await t.json('GET', '/v1/account/export', { token: session })
    expect(exported.status).toBe(200)
    const ids = exported.body.sandboxes.map((s: any) => [s.id, s.status]).sort()
    expect(ids).toEqual(
      [
        [kept.id, 'running'],
        [destroyed.id, 'destroyed'],
      ].sort(),
    )
    const usage = exported.body.quota_usage.find((q: any) => q.usage_date === utcDay(t.clock.now()))
    expect(usage).toMatchObject({ sandbox_creates: 2, gb_hours: 1 })

    // Soft deletion stops the running sandbox at once; the purge after the grace period erases.
    expect((await t.request('DELETE', '/v1/account/me', { token: session })).status).toBe(202)
    const stopped = await one(t.store.orm.select().from(sandboxes).where(eq(sandboxes.id, kept.id)))
    expect(stopped?.status).toBe('destroyed')
    t.clock.advance(31 * 24 * HOUR)
    expect((await purgeOnce(t.deps)).hardDeleted).toBe(1)
    const left = async (table: typeof sandboxes | typeof quotaUsage) =>
      (await many(t.store.orm.select().from(table).where(eq(table.teamId, u.team.id)))).length
    expect(await left(sandboxes)).toBe(0)
    expect(await left(quotaUsage)).toBe(0)
    expect(
      await many(t.store.orm.select().from(sandboxes).where(eq(sandboxes.teamId, other.team.id))),
    ).toHaveLength(1)
  })
})
