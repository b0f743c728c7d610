import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose'
import { many, one } from '../../db/query'
import { apiKeys, teams, users } from '../../db/tables'
import { MINUTE } from '../../src/lib/clock'
import { createTestApp, TEST_JWT_SECRET, type TestApp } from '../support/harness'

const uuid = () => crypto.randomUUID()

describe('session tokens signed by a JWKS (RS256/ES256)', () => {
  let server: ReturnType<typeof Bun.serve>
  let t: TestApp
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>
  let ec: Awaited<ReturnType<typeof generateKeyPair>>

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256')
    ec = await generateKeyPair('ES256')
    const keys: JWK[] = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ]
    server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => Response.json({ keys }) })
    // Only the JWKS is configured: HS256 tokens have no key to be checked against.
    t = createTestApp({
      env: { AUTH_JWT_SECRET: '', AUTH_JWKS_URL: `http://127.0.0.1:${server.port}/jwks.json` },
    })
  })
  afterAll(() => server.stop(true))

  const sign = (alg: 'RS256' | 'ES256', kid: string, key: CryptoKey, sub: string, email: string) =>
    new SignJWT({ email, user_metadata: { email_verified: true } })
      .setProtectedHeader({ alg, kid })
      .setSubject(sub)
      .setAudience('authenticated')
      .setIssuedAt(Math.floor(t.clock.now() / 1000))
      .setExpirationTime(Math.floor(t.clock.now() / 1000) + 3600)
      .sign(key)

  it('accepts RS256 and ES256 tokens whose keys the JWKS publishes', async () => {
    for (const [alg, kid, key] of [
      ['RS256', 'rsa-1', rsa.privateKey],
      ['ES256', 'ec-1', ec.privateKey],
    ] as const) {
      const token = await sign(alg, kid, key, uuid(), `${alg.toLowerCase()}@example.com`)
      const r = await t.json('GET', '/v1/account/me', { token })
      expect(r.status).toBe(200)
      expect(r.body.email_verified).toBe(true)
    }
  })

  it('refuses HS256 (no secret configured) and an HS256 token keyed with the public key (algorithm confusion)', async () => {
    const sub = uuid()
    const hs = await new SignJWT({ email: 'hs@example.com' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setAudience('authenticated')
      .setExpirationTime(Math.floor(t.clock.now() / 1000) + 3600)
      .sign(new TextEncoder().encode(TEST_JWT_SECRET))
    expect((await t.request('GET', '/v1/account/me', { token: hs })).status).toBe(401)
    const pem = await exportSPKI(rsa.publicKey)
    const confused = await new SignJWT({ email: 'confused@example.com' })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
      .setSubject(sub)
      .setAudience('authenticated')
      .setExpirationTime(Math.floor(t.clock.now() / 1000) + 3600)
      .sign(new TextEncoder().encode(pem))
    expect((await t.request('GET', '/v1/account/me', { token: confused })).status).toBe(401)
  })

  it('refuses a token signed by a key the JWKS does not publish', async () => {
    const stranger = await generateKeyPair('RS256')
    const token = await sign('RS256', 'rsa-1', stranger.privateKey, uuid(), 'x@example.com')
    expect((await t.request('GET', '/v1/account/me', { token })).status).toBe(401)
  })
})

describe('just-in-time provisioning', () => {
  const t = createTestApp()

  it('creates the user and a personal team on the first valid token for an unknown subject', async () => {
    const sub = uuid()
    const token = await t.session(sub, 'New.Person@Example.com', { verified: false })
    const first = await t.json('GET', '/v1/account/me', { token })
    expect(first.status).toBe(200)
    expect(first.body.user.id).toBe(sub)
    expect(first.body.user.email).toBe('new.person@example.com')
    expect(first.body.team.owner_user_id).toBe(sub)
    expect(first.body.email_verified).toBe(false)
    expect(first.body.session_email).toBe('new.person@example.com')
    const again = await t.json('GET', '/api/account', { token })
    expect(again.status).toBe(200)
    expect(await many(t.store.orm.select().from(teams).where(eq(teams.ownerUserId, sub)))).toHaveLength(1)
  })

  it('marks the email verified when the token says so, top level or in user_metadata', async () => {
    const sub = uuid()
    const token = await new SignJWT({ email: 'meta@example.com', user_metadata: { email_verified: true } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setAudience('authenticated')
      .setIssuedAt(Math.floor(t.clock.now() / 1000))
      .setExpirationTime(Math.floor(t.clock.now() / 1000) + 600)
      .sign(new TextEncoder().encode(TEST_JWT_SECRET))
    const r = await t.json('GET', '/v1/account/me', { token })
    expect(r.body.email_verified).toBe(true)
    expect(r.body.user.email_verified_at).toBe(new Date(t.clock.now()).toISOString())
  })

  it('refuses a subject that is not a UUID, a token without email, and an email owned by another account', async () => {
    const existing = await t.createUser({ email: 'taken@example.com' })
    const cases = [
      await t.session('not-a-uuid', 'a@example.com'),
      await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(uuid())
        .setAudience('authenticated')
        .setExpirationTime(Math.floor(t.clock.now() / 1000) + 600)
        .sign(new TextEncoder().encode(TEST_JWT_SECRET)),
      await t.session(uuid(), 'TAKEN@example.com'),
    ]
    for (const token of cases) expect((await t.request('GET', '/api/status', { token })).status).toBe(401)
    expect(
      await many(t.store.orm.select().from(users).where(eq(users.email, 'taken@example.com'))),
    ).toHaveLength(1)
    expect(existing.user.email).toBe('taken@example.com')
  })
})

describe('verified-token cache', () => {
  it('still refuses a token once it expires, even after it was accepted', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    const token = await t.session(u.user.id, u.user.email, { ttlMs: 60_000 })
    expect((await t.request('GET', '/api/status', { token })).status).toBe(200)
    t.clock.advance(59_000)
    expect((await t.request('GET', '/api/status', { token })).status).toBe(200)
    t.clock.advance(1_000)
    expect((await t.request('GET', '/api/status', { token })).status).toBe(401)
  })
})

describe('key usage tracking', () => {
  it('updates last_used_at at most once a minute', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    const lastUsed = async () =>
      (await one(t.store.orm.select().from(apiKeys).where(eq(apiKeys.userId, u.user.id))))?.lastUsedAt
    await t.request('GET', '/api/status', { token: u.apiKey })
    const first = await lastUsed()
    expect(first).toBe(t.clock.now())
    t.clock.advance(30_000)
    await t.request('GET', '/api/status', { token: u.apiKey })
    expect(await lastUsed()).toBe(first)
    t.clock.advance(MINUTE)
    await t.request('GET', '/api/status', { token: u.apiKey })
    expect(await lastUsed()).toBe(t.clock.now())
  })
})
