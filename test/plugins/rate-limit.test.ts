import { describe, expect, it } from 'bun:test'
import { count, eq } from 'drizzle-orm'
import { one } from '../../db/query'
import { apiKeys } from '../../db/tables'
import { clientIp } from '../../src/lib/client-ip'
import { SECOND } from '../../src/lib/clock'
import { expectApiError, expectV1Error } from '../support/envelopes'
import { createTestApp } from '../support/harness'

const headersOf = (r: Response) => ({
  policy: r.headers.get('ratelimit-policy'),
  limit: r.headers.get('ratelimit'),
})

describe('rate-limit headers', () => {
  it('are on 200, 4xx and 429 responses of both dialects', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_DEFAULT: '4/60' } })
    const u = await t.createUser()
    const ok = await t.request('GET', '/api/status', { token: u.apiKey })
    expect(headersOf(ok)).toEqual({ policy: '"default";q=4;w=60', limit: '"default";r=3;t=0' })
    const notFound = await t.request('GET', '/v1/nothing-here', { token: u.session })
    expect(notFound.status).toBe(404)
    expect(headersOf(notFound)).toEqual({ policy: '"default";q=4;w=60', limit: '"default";r=2;t=0' })
    const invalid = await t.request('PATCH', '/v1/account/me', {
      token: u.session,
      body: { name: 'x'.repeat(300) },
    })
    expect(invalid.status).toBe(400)
    expect(headersOf(invalid).limit).toBe('"default";r=1;t=0')
    const last = await t.request('GET', '/api/account', { token: u.apiKey })
    expect(last.status).toBe(200)
    expect(headersOf(last).limit).toMatch(/^"default";r=0;t=[1-9]\d*$/)
    const limited = await t.json('GET', '/api/status', { token: u.apiKey })
    expect(limited.status).toBe(429)
    expectApiError(limited.body, 'RATE_LIMITED')
    expect(limited.headers.get('ratelimit-policy')).toBe('"default";q=4;w=60')
    const limitedV1 = await t.json('GET', '/v1/account/me', { token: u.session })
    expect(limitedV1.status).toBe(429)
    expectV1Error(limitedV1.body, 'rate_limit_exceeded', limitedV1.headers)
    expect(Number(limitedV1.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  it("stack a route's own policy with default", async () => {
    const t = createTestApp({ env: { RATE_LIMIT_KEYS_CREATE: '2/3600' } })
    const u = await t.createUser()
    const r = await t.request('POST', '/api/api-keys', { token: u.apiKey, body: { name: 'a' } })
    expect(headersOf(r)).toEqual({
      policy: '"default";q=300;w=60, "keys-create";q=2;w=3600',
      limit: '"default";r=299;t=0, "keys-create";r=1;t=0',
    })
  })
})

describe('over the limit', () => {
  it('answers 429 with a Retry-After capped at the window: honoured, it is enough or one short wait away', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_DEFAULT: '3/60' } })
    const u = await t.createUser()
    t.clock.advance(17_300) // somewhere inside a window
    for (let i = 0; i < 3; i++)
      expect((await t.request('GET', '/api/status', { token: u.apiKey })).status).toBe(200)
    t.clock.advance(2_000)
    const limited = await t.request('GET', '/api/status', { token: u.apiKey })
    expect(limited.status).toBe(429)
    const retryAfter = Number(limited.headers.get('retry-after'))
    // Three requests 19 s into a window still weigh 3 × (1 − t/60) in the next one: 61 s here,
    // advertised as the window's 60 s (never more than the window).
    expect(retryAfter).toBe(60)
    expect(limited.headers.get('ratelimit')).toBe('"default";r=0;t=60')
    t.clock.advance((retryAfter - 1) * SECOND)
    expect((await t.request('GET', '/api/status', { token: u.apiKey })).status).toBe(429)
    t.clock.advance(SECOND)
    const again = await t.request('GET', '/api/status', { token: u.apiKey })
    expect(again.status).toBe(429)
    expect(again.headers.get('retry-after')).toBe('1')
    t.clock.advance(SECOND)
    expect((await t.request('GET', '/api/status', { token: u.apiKey })).status).toBe(200)
  })

  it('does not run the handler', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_KEYS_CREATE: '2/3600' } })
    const u = await t.createUser()
    const keys = async () =>
      (await one(t.store.orm.select({ n: count() }).from(apiKeys).where(eq(apiKeys.userId, u.user.id))))?.n
    for (const name of ['a', 'b'])
      expect((await t.request('POST', '/api/api-keys', { token: u.apiKey, body: { name } })).status).toBe(201)
    const before = await keys()
    const r = await t.json('POST', '/api/api-keys', { token: u.apiKey, body: { name: 'c' } })
    expect(r.status).toBe(429)
    expect(r.body.error.message).toContain('keys-create')
    expect(await keys()).toBe(before)
    // The same policy covers /v1 key creation for the same user.
    expect((await t.request('POST', '/v1/keys', { token: u.session })).status).toBe(429)
  })

  it('counts invalid requests against a route policy too', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_KEYS_CREATE: '2/3600' } })
    const u = await t.createUser()
    for (let i = 0; i < 2; i++)
      expect((await t.request('POST', '/api/api-keys', { token: u.apiKey, body: { name: '' } })).status).toBe(
        400,
      )
    expect((await t.request('POST', '/api/api-keys', { token: u.apiKey, body: { name: 'ok' } })).status).toBe(
      429,
    )
  })
})

describe('partitions', () => {
  it('give two users separate budgets', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_DEFAULT: '2/60' } })
    const a = await t.createUser()
    const b = await t.createUser()
    for (let i = 0; i < 2; i++) await t.request('GET', '/api/status', { token: a.apiKey })
    expect((await t.request('GET', '/api/status', { token: a.apiKey })).status).toBe(429)
    expect((await t.request('GET', '/api/status', { token: b.apiKey })).status).toBe(200)
  })

  it('limit unauthenticated callers per IP without touching an authenticated user', async () => {
    const t = createTestApp({ env: { TRUST_PROXY: '1', RATE_LIMIT_UNAUTHENTICATED: '5/60' } })
    const u = await t.createUser()
    const from = (ip: string) => ({ 'x-forwarded-for': ip })
    for (let i = 0; i < 5; i++)
      expect((await t.request('GET', '/api/status', { headers: from('203.0.113.9') })).status).toBe(401)
    const flood = await t.json('GET', '/api/status', { headers: from('203.0.113.9') })
    expect(flood.status).toBe(429)
    expect(flood.headers.get('ratelimit-policy')).toBe('"unauthenticated";q=5;w=60')
    // Bad tokens count as unauthenticated too (slows key guessing).
    expect(
      (
        await t.request('GET', '/api/status', {
          token: 'ok_AAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBB',
          headers: from('203.0.113.9'),
        })
      ).status,
    ).toBe(429)
    expect(
      (await t.request('GET', '/api/status', { token: u.apiKey, headers: from('203.0.113.9') })).status,
    ).toBe(200)
    expect((await t.request('GET', '/api/status', { headers: from('198.51.100.1') })).status).toBe(401)
  })

  it('survive a spray of 100,000 distinct partitions with a limited user still limited', async () => {
    const t = createTestApp({
      env: { TRUST_PROXY: '1', RATE_LIMIT_DEFAULT: '2/60', RATE_LIMIT_UNAUTHENTICATED: '1000/60' },
    })
    const u = await t.createUser()
    for (let i = 0; i < 2; i++) await t.request('GET', '/api/status', { token: u.apiKey })
    expect((await t.request('GET', '/api/status', { token: u.apiKey })).status).toBe(429)
    for (let i = 0; i < 100_000; i++) {
      const ip = `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`
      await t.request('GET', '/healthz') // not limited, not counted
      await t.app.handle(
        new Request('http://localhost/v1/account/me', { headers: { 'x-forwarded-for': ip } }),
      )
    }
    expect((await t.request('GET', '/api/status', { token: u.apiKey })).status).toBe(429)
  }, 60_000)

  it('are not applied to health, docs or the signed Stripe webhook', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_UNAUTHENTICATED: '1/60' } })
    for (let i = 0; i < 3; i++) {
      const r = await t.request('GET', '/healthz')
      expect(r.status).toBe(200)
      expect(r.headers.get('ratelimit')).toBeNull()
    }
  })
})

describe('configuration', () => {
  it('can switch limiting off', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_DEFAULT: '1/60' } })
    const u = await t.createUser()
    for (let i = 0; i < 3; i++)
      expect((await t.request('GET', '/api/status', { token: u.apiKey })).status).toBe(200)
  })
})

describe('client IP', () => {
  const req = (xff?: string) =>
    new Request('http://localhost/', { headers: xff ? { 'x-forwarded-for': xff } : {} })
  const server = { requestIP: () => ({ address: '192.0.2.1' }) }
  it('uses the socket unless proxies are trusted, and then the right hop', () => {
    expect(clientIp(req('1.1.1.1'), server, 0)).toBe('192.0.2.1')
    expect(clientIp(req('1.1.1.1, 2.2.2.2'), server, 1)).toBe('2.2.2.2')
    expect(clientIp(req('1.1.1.1, 2.2.2.2'), server, 2)).toBe('1.1.1.1')
    expect(clientIp(req('spoofed, 1.1.1.1, 2.2.2.2'), server, 2)).toBe('1.1.1.1')
    expect(clientIp(req('2.2.2.2'), server, 3)).toBe('2.2.2.2')
    expect(clientIp(req(), server, 1)).toBe('192.0.2.1')
    expect(clientIp(req(), null, 0)).toBe('local')
  })
})
