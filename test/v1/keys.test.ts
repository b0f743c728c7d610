import { describe, expect, it } from 'bun:test'
import { DAY, MINUTE } from '../../src/lib/clock'
import { expectV1Error } from '../support/envelopes'
import { createTestApp } from '../support/harness'

const env = { RATE_LIMIT_KEYS_CREATE: '1000/3600' }

describe('/v1/keys', () => {
  it('creates a runtime key shown once, which authenticates /v1 runtime routes', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const r = await t.json('POST', '/v1/keys', {
      token: u.session,
      body: { name: 'ci', scope: 'sandboxes:write' },
    })
    expect(r.status).toBe(201)
    expect(r.body).toEqual({
      id: expect.any(String),
      key: expect.stringMatching(/^ns_live_[0-9a-f]{32}$/),
      prefix: expect.any(String),
      name: 'ci',
      scope: 'sandboxes:write',
      expires_at: null,
    })
    expect(r.body.key.startsWith(r.body.prefix)).toBe(true)
    // An authenticated caller reaches routing (404 for an unknown runtime path), a stranger does not.
    expect((await t.request('GET', '/v1/unknown', { token: r.body.key })).status).toBe(404)
    expect((await t.request('GET', '/v1/unknown', { token: `ns_live_${'1'.repeat(32)}` })).status).toBe(401)
  })

  it('creates a key without a body, with default scope', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const r = await t.json('POST', '/v1/keys', { token: u.session })
    expect(r.status).toBe(201)
    expect(r.body).toMatchObject({ name: null, scope: 'sandboxes', expires_at: null })
  })

  it('lists keys including revoked and retiring ones, never the secret', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const a = await t.json('POST', '/v1/keys', { token: u.session, body: { name: 'a' } })
    const b = await t.json('POST', '/v1/keys', { token: u.session, body: { name: 'b' } })
    await t.request('DELETE', `/v1/keys/${a.body.id}`, { token: u.session })
    await t.request('POST', `/v1/keys/${b.body.id}/rotate`, { token: u.session })
    const r = await t.json('GET', '/v1/keys', { token: u.session })
    expect(r.status).toBe(200)
    expect(r.body).toHaveLength(3)
    const byId = Object.fromEntries(r.body.map((k: any) => [k.id, k]))
    expect(byId[a.body.id]).toMatchObject({
      is_active: false,
      revoked_at: new Date(t.clock.now()).toISOString(),
    })
    expect(byId[b.body.id]).toMatchObject({
      is_active: true,
      expires_at: new Date(t.clock.now() + DAY).toISOString(),
    })
    for (const k of r.body)
      expect(Object.keys(k).sort()).toEqual([
        'created_at',
        'expires_at',
        'id',
        'is_active',
        'last_used_at',
        'name',
        'prefix',
        'revoked_at',
        'rotation_parent_key_id',
        'scope',
      ])
    expect(r.text).not.toContain(a.body.key)
    expect(r.text).not.toContain(b.body.key)
  })

  it('rotates a key: the old one keeps working for 24 hours, then fails', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const old = await t.json('POST', '/v1/keys', {
      token: u.session,
      body: { name: 'deploy', scope: 'sandboxes' },
    })
    const r = await t.json('POST', `/v1/keys/${old.body.id}/rotate`, {
      token: u.session,
      body: { name: 'deploy v2' },
    })
    expect(r.status).toBe(201)
    expect(r.body).toMatchObject({ name: 'deploy v2', scope: 'sandboxes', expires_at: null })
    expect(r.body.key).not.toBe(old.body.key)
    const list = await t.json('GET', '/v1/keys', { token: u.session })
    expect(list.body.find((k: any) => k.id === r.body.id).rotation_parent_key_id).toBe(old.body.id)
    t.clock.advance(DAY - MINUTE)
    expect((await t.request('GET', '/v1/unknown', { token: old.body.key })).status).toBe(404)
    t.clock.advance(MINUTE)
    expect((await t.request('GET', '/v1/unknown', { token: old.body.key })).status).toBe(401)
    expect((await t.request('GET', '/v1/unknown', { token: r.body.key })).status).toBe(404)
  })

  it('refuses to rotate a key twice or a revoked key (conflict)', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const k = await t.json('POST', '/v1/keys', { token: u.session })
    await t.request('POST', `/v1/keys/${k.body.id}/rotate`, { token: u.session })
    const twice = await t.json('POST', `/v1/keys/${k.body.id}/rotate`, { token: u.session })
    expect(twice.status).toBe(409)
    expectV1Error(twice.body, 'conflict', twice.headers)
    const r = await t.json('POST', '/v1/keys', { token: u.session })
    await t.request('DELETE', `/v1/keys/${r.body.id}`, { token: u.session })
    const revoked = await t.json('POST', `/v1/keys/${r.body.id}/rotate`, { token: u.session })
    expect(revoked.status).toBe(409)
  })

  it('revokes a key: 204, and it fails on its next use; revoking again is a no-op', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const k = await t.json('POST', '/v1/keys', { token: u.session })
    const del = await t.request('DELETE', `/v1/keys/${k.body.id}`, { token: u.session })
    expect(del.status).toBe(204)
    expect((await t.request('GET', '/v1/unknown', { token: k.body.key })).status).toBe(401)
    expect((await t.request('DELETE', `/v1/keys/${k.body.id}`, { token: u.session })).status).toBe(204)
  })

  it("answers not_found for another user's key", async () => {
    const t = createTestApp({ env })
    const owner = await t.createUser()
    const other = await t.createUser()
    const k = await t.json('POST', '/v1/keys', { token: owner.session })
    for (const [method, path] of [
      ['DELETE', `/v1/keys/${k.body.id}`],
      ['POST', `/v1/keys/${k.body.id}/rotate`],
    ] as const) {
      const r = await t.json(method, path, { token: other.session })
      expect(r.status).toBe(404)
      expectV1Error(r.body, 'not_found', r.headers)
    }
    expect((await t.request('GET', '/v1/unknown', { token: k.body.key })).status).toBe(404)
  })

  it('needs a verified email', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser({ verified: false })
    for (const [method, path] of [
      ['GET', '/v1/keys'],
      ['POST', '/v1/keys'],
    ] as const) {
      const r = await t.json(method, path, { token: u.session })
      expect(r.status).toBe(403)
      expectV1Error(r.body, 'email_not_verified', r.headers)
    }
  })

  it('refuses an 11th active key with conflict', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    for (let i = 0; i < 10; i++)
      expect((await t.request('POST', '/v1/keys', { token: u.session })).status).toBe(201)
    const r = await t.json('POST', '/v1/keys', { token: u.session })
    expect(r.status).toBe(409)
    expectV1Error(r.body, 'conflict', r.headers)
  })

  it('validates name and scope', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    for (const [body, field] of [
      [{ name: '' }, 'name'],
      [{ scope: 'operator' }, 'scope'],
      [{ scope: 'has space' }, 'scope'],
      [{ name: 'x'.repeat(101) }, 'name'],
    ] as const) {
      const r = await t.json('POST', '/v1/keys', { token: u.session, body })
      expect(r.status).toBe(400)
      expect(r.body.error_detail.fields[0].field).toBe(field)
    }
  })
})
