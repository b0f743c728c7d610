import { describe, expect, it } from 'bun:test'
import { count, eq } from 'drizzle-orm'
import { exec, many, one } from '../../db/query'
import { apiKeys, idempotencyKeys } from '../../db/tables'
import { HOUR, SECOND } from '../../src/lib/clock'
import { reapIdempotencyKeys } from '../../src/services/idempotency'
import { expectApiError, expectV1Error } from '../support/envelopes'
import { createTestApp, type TestApp, type TestUser } from '../support/harness'

const env = { RATE_LIMIT_ENABLED: 'false' }
const keysOf = async (t: TestApp, u: TestUser) =>
  (await one(t.store.orm.select({ n: count() }).from(apiKeys).where(eq(apiKeys.userId, u.user.id))))?.n ?? 0
const createKey = (t: TestApp, u: TestUser, key: string, body: unknown = { name: 'ci' }) =>
  t.request('POST', '/api/api-keys', { token: u.apiKey, body, headers: { 'idempotency-key': key } })

describe('idempotency keys', () => {
  it('replay the stored answer byte for byte, without running the handler again', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const first = await createKey(t, u, 'key-1')
    const firstBody = await first.text()
    expect(first.status).toBe(201)
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    const before = await keysOf(t, u)
    const again = await createKey(t, u, 'key-1', { name: 'ci' })
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'))
    expect(await again.text()).toBe(firstBody)
    expect(await keysOf(t, u)).toBe(before)
    expect(again.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'))
  })

  it('treat reordered JSON keys and the quoted header form as the same request', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'same' }
    const a = await t.request('PATCH', '/v1/account/me', {
      token: u.session,
      rawBody: '{"name":"N","display_name":"D"}',
      headers,
    })
    const b = await t.request('PATCH', '/v1/account/me', {
      token: u.session,
      rawBody: '{ "display_name": "D",  "name": "N" }',
      headers: { ...headers, 'idempotency-key': '"same"' },
    })
    expect(a.status).toBe(200)
    expect(b.headers.get('idempotent-replayed')).toBe('true')
  })

  it('create exactly one key from 50 concurrent identical requests', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const before = await keysOf(t, u)
    const responses = await Promise.all(Array.from({ length: 50 }, () => createKey(t, u, 'burst')))
    expect(await keysOf(t, u)).toBe(before + 1)
    const bodies = await Promise.all(responses.map((r) => r.text()))
    const created = responses
      .map((r, i) => ({ r, body: bodies[i] as string }))
      .filter(({ r }) => r.status === 201)
    const inProgress = responses.filter((r) => r.status === 409)
    expect(created.length + inProgress.length).toBe(50)
    expect(created.length).toBeGreaterThanOrEqual(1)
    expect(new Set(created.map((c) => c.body)).size).toBe(1)
    expect(created.filter(({ r }) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1)
    for (const r of inProgress) expect(r.headers.get('retry-after')).toBe('1')
  })

  it('answer 409 with Retry-After while the first request is in progress', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    expect((await createKey(t, u, 'busy')).status).toBe(201)
    // Put the stored claim back in flight, as if the first request were still running.
    await exec(
      t.store.orm
        .update(idempotencyKeys)
        .set({ state: 'in_progress', lockedAt: t.clock.now() })
        .where(eq(idempotencyKeys.key, 'busy')),
    )
    const r = await t.json('POST', '/api/api-keys', {
      token: u.apiKey,
      body: { name: 'ci' },
      headers: { 'idempotency-key': 'busy' },
    })
    expect(r.status).toBe(409)
    expect(r.headers.get('retry-after')).toBe('1')
    expect(expectApiError(r.body, 'IDEMPOTENCY_KEY_REUSE').message).toContain('in progress')
  })

  it('refuse the same key with a different request: 422', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await createKey(t, u, 'k', { name: 'one' })
    const r = await t.json('POST', '/api/api-keys', {
      token: u.apiKey,
      body: { name: 'two' },
      headers: { 'idempotency-key': 'k' },
    })
    expect(r.status).toBe(422)
    expectApiError(r.body, 'IDEMPOTENCY_KEY_REUSE')
    await t.request('PATCH', '/v1/account/me', {
      token: u.session,
      body: { name: 'a' },
      headers: { 'idempotency-key': 'v' },
    })
    const v1 = await t.json('PATCH', '/v1/account/me', {
      token: u.session,
      body: { name: 'b' },
      headers: { 'idempotency-key': 'v' },
    })
    expect(v1.status).toBe(422)
    expectV1Error(v1.body, 'conflict', v1.headers)
  })

  it('are scoped to the user: the same key by another user is independent', async () => {
    const t = createTestApp({ env })
    const a = await t.createUser()
    const b = await t.createUser()
    expect((await createKey(t, a, 'shared')).status).toBe(201)
    const other = await createKey(t, b, 'shared', { name: 'different body' })
    expect(other.status).toBe(201)
    expect(other.headers.get('idempotent-replayed')).toBeNull()
  })

  it('replay for 24 hours, then run anew', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await createKey(t, u, 'day')
    t.clock.advance(23 * HOUR)
    expect((await createKey(t, u, 'day')).headers.get('idempotent-replayed')).toBe('true')
    t.clock.advance(2 * HOUR)
    const anew = await createKey(t, u, 'day')
    expect(anew.status).toBe(201)
    expect(anew.headers.get('idempotent-replayed')).toBeNull()
  })

  it('store 4xx answers and replay them', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const bad = await createKey(t, u, 'invalid', { name: '' })
    expect(bad.status).toBe(400)
    const again = await createKey(t, u, 'invalid', { name: '' })
    expect(again.status).toBe(400)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
  })

  it('replay a 204 from DELETE', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const created = (await (await createKey(t, u, 'mk')).json()) as { keyId: string }
    const del = () =>
      t.request('DELETE', `/api/api-keys/${created.keyId}`, {
        token: u.apiKey,
        headers: { 'idempotency-key': 'del' },
      })
    expect((await del()).status).toBe(204)
    const again = await del()
    expect(again.status).toBe(204)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
  })

  it('release the claim when the handler fails (5xx), so a retry runs again', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    // The key's audit row cannot be written while its table is away.
    await t.exec('ALTER TABLE audit_events RENAME TO audit_events_away')
    const failed = await createKey(t, u, 'flaky')
    expect(failed.status).toBe(500)
    expect(
      await many(t.store.orm.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, 'flaky'))),
    ).toHaveLength(0)
    await t.exec('ALTER TABLE audit_events_away RENAME TO audit_events')
    const retry = await createKey(t, u, 'flaky')
    expect(retry.status).toBe(201)
    expect(retry.headers.get('idempotent-replayed')).toBeNull()
  })

  it('release a stale claim after 60 seconds', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await createKey(t, u, 'stale')
    // Simulate a process that died mid-request: the row stays in_progress.
    await exec(
      t.store.orm
        .update(idempotencyKeys)
        .set({ state: 'in_progress', status: null, body: null })
        .where(eq(idempotencyKeys.key, 'stale')),
    )
    t.clock.advance(30 * SECOND)
    expect((await createKey(t, u, 'stale')).status).toBe(409)
    t.clock.advance(31 * SECOND)
    const taken = await createKey(t, u, 'stale')
    expect(taken.status).toBe(201)
    expect(taken.headers.get('idempotent-replayed')).toBeNull()
  })

  it('refuse invalid keys with 400 in the envelope of each dialect', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const cases: Record<string, Headers> = {
      empty: new Headers({ 'idempotency-key': '' }),
      '256 characters': new Headers({ 'idempotency-key': 'k'.repeat(256) }),
      'control character': new Headers({ 'idempotency-key': 'a\u007fb' }),
      'non-ASCII': new Headers({ 'idempotency-key': '"clé"' }),
      'unterminated quote': new Headers({ 'idempotency-key': '"abc' }),
    }
    const twice = new Headers()
    twice.append('idempotency-key', 'one')
    twice.append('idempotency-key', 'two')
    cases['two headers'] = twice
    for (const [label, headers] of Object.entries(cases)) {
      headers.set('authorization', `Bearer ${u.apiKey}`)
      headers.set('content-type', 'application/json')
      const r = await t.app.handle(
        new Request('http://localhost/api/api-keys', { method: 'POST', headers, body: '{"name":"x"}' }),
      )
      expect({ label, status: r.status }).toEqual({ label, status: 400 })
      expectApiError(await r.json(), 'INVALID_IDEMPOTENCY_KEY')
      headers.set('authorization', `Bearer ${u.session}`)
      const v1 = await t.app.handle(
        new Request('http://localhost/v1/account/me', { method: 'PATCH', headers, body: '{"name":"x"}' }),
      )
      expect({ label, status: v1.status }).toEqual({ label, status: 400 })
      expectV1Error(await v1.json(), 'invalid_request', v1.headers)
    }
    expect((await createKey(t, u, 'k'.repeat(255))).status).toBe(201)
  })

  it('are reaped after their 24-hour retention', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await createKey(t, u, 'old')
    t.clock.advance(12 * HOUR)
    await createKey(t, u, 'young')
    t.clock.advance(13 * HOUR)
    expect(await reapIdempotencyKeys(t.store, t.clock.now())).toBe(1)
    expect(await many(t.store.orm.select({ key: idempotencyKeys.key }).from(idempotencyKeys))).toEqual([
      { key: 'young' },
    ])
  })
})
