import { describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { many, one } from '../../db/query'
import { teams, users } from '../../db/tables'
import { expectV1Error } from '../support/envelopes'
import { createTestApp } from '../support/harness'
import { insertRunningSandbox } from '../support/seed'

const env = { RATE_LIMIT_ENABLED: 'false' }

describe('/v1/admin', () => {
  it('searches users by email and pages with next_token', async () => {
    const t = createTestApp({ env })
    const op = await t.createUser({ operator: true })
    for (let i = 0; i < 5; i++) await t.createUser({ email: `match-${i}@corp.example` })
    await t.createUser({ email: 'other@else.example' })
    const seen: string[] = []
    let token: string | null = null
    do {
      const q: string = `/v1/admin/users?query=CORP.example&limit=2${token ? `&next_token=${token}` : ''}`
      const r = await t.json('GET', q, { token: op.session })
      expect(r.status).toBe(200)
      expect(r.body.users.length).toBeLessThanOrEqual(2)
      seen.push(...r.body.users.map((u: any) => u.email))
      token = r.body.next_token
    } while (token)
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `match-${i}@corp.example`))
    const all = await t.json('GET', '/v1/admin/users', { token: op.session })
    expect(all.body.users).toHaveLength(7)
    expect(all.body.next_token).toBeNull()
  })

  it('treats LIKE wildcards in the query literally and refuses a forged next_token', async () => {
    const t = createTestApp({ env })
    const op = await t.createUser({ operator: true })
    await t.createUser({ email: 'plain@example.com' })
    const r = await t.json('GET', '/v1/admin/users?query=%25', { token: op.session })
    expect(r.body.users).toHaveLength(0)
    const bad = await t.json('GET', '/v1/admin/users?next_token=garbage!', { token: op.session })
    expect(bad.status).toBe(400)
    expectV1Error(bad.body, 'invalid_request', bad.headers)
    const badLimit = await t.json('GET', '/v1/admin/users?limit=0', { token: op.session })
    expect(badLimit.status).toBe(400)
  })

  it('shows a user with team, tier, usage, keys (no hashes) and sandboxes', async () => {
    const t = createTestApp({ env })
    const op = await t.createUser({ operator: true })
    const u = await t.createUser()
    const runtime = await t.runtimeKey(u)
    await insertRunningSandbox(t, u, 'sb_test1')
    const r = await t.json('GET', `/v1/admin/users/${u.user.id}`, { token: op.session })
    expect(r.status).toBe(200)
    expect(Object.keys(r.body)).toEqual([
      'user',
      'team',
      'quota_tier',
      'quota_usage',
      'api_keys',
      'sandboxes',
    ])
    expect(r.body.user.id).toBe(u.user.id)
    expect(r.body.api_keys).toHaveLength(2)
    expect(r.body.api_keys[0]).not.toHaveProperty('key_hash')
    expect(r.text).not.toContain(runtime)
    expect(r.text).not.toContain(u.apiKey)
    expect(r.body.sandboxes).toEqual([
      expect.objectContaining({
        id: 'sb_test1',
        status: 'running',
        config: { vcpus: 1, memory_mb: 256, disk_mb: null },
      }),
    ])
    const missing = await t.json('GET', '/v1/admin/users/01900000-0000-7000-8000-000000000000', {
      token: op.session,
    })
    expect(missing.status).toBe(404)
    expectV1Error(missing.body, 'account_not_found', missing.headers)
  })

  it('creates users (verified), refusing duplicates and invalid emails', async () => {
    const t = createTestApp({ env })
    const op = await t.createUser({ operator: true })
    const r = await t.json('POST', '/v1/admin/users', {
      token: op.session,
      body: { email: 'New@Example.com', is_operator: true },
    })
    expect(r.status).toBe(201)
    expect(r.body).toMatchObject({
      email: 'new@example.com',
      is_operator: true,
      email_verified_at: expect.any(String),
    })
    expect(await many(t.store.orm.select().from(teams).where(eq(teams.ownerUserId, r.body.id)))).toHaveLength(
      1,
    )
    const dup = await t.json('POST', '/v1/admin/users', {
      token: op.session,
      body: { email: 'new@example.com' },
    })
    expect(dup.status).toBe(409)
    expectV1Error(dup.body, 'conflict', dup.headers)
    const bad = await t.json('POST', '/v1/admin/users', {
      token: op.session,
      body: { email: 'not an email' },
    })
    expect(bad.status).toBe(400)
    expect(bad.body.error_detail.fields[0].field).toBe('email')
  })

  it('mints a beta key for a user, which works on runtime routes only', async () => {
    const t = createTestApp({ env })
    const op = await t.createUser({ operator: true })
    const u = await t.createUser()
    const r = await t.json('POST', `/v1/admin/users/${u.user.id}/keys`, {
      token: op.session,
      body: { name: 'beta' },
    })
    expect(r.status).toBe(201)
    expect(r.body).toEqual({
      id: expect.any(String),
      key: expect.stringMatching(/^ns_live_beta_[0-9a-f]{32}$/),
      prefix: expect.any(String),
      scope: 'operator',
      name: 'beta',
    })
    expect((await t.request('GET', '/v1/unknown', { token: r.body.key })).status).toBe(404)
    expect((await t.request('GET', '/v1/keys', { token: r.body.key })).status).toBe(401)
    expect((await t.request('GET', '/api/status', { token: r.body.key })).status).toBe(401)
    const listed = await t.json('GET', '/v1/keys', { token: u.session })
    expect(listed.body.map((k: any) => k.id)).toContain(r.body.id)
    const missing = await t.json('POST', '/v1/admin/users/01900000-0000-7000-8000-000000000000/keys', {
      token: op.session,
    })
    expect(missing.status).toBe(404)
  })

  it('moves a user and its team to another tier', async () => {
    const t = createTestApp({ env })
    const op = await t.createUser({ operator: true })
    const u = await t.createUser()
    const r = await t.json('PUT', `/v1/admin/users/${u.user.id}/tier`, {
      token: op.session,
      body: { quota_tier_id: 'pro' },
    })
    expect(r.status).toBe(200)
    expect(r.body.user).toMatchObject({ tier: 'pro', quota_tier_id: 'pro' })
    expect(r.body.team.quota_tier_id).toBe('pro')
    expect(r.body.quota_tier.id).toBe('pro')
    expect((await one(t.store.orm.select().from(users).where(eq(users.id, u.user.id))))?.quotaTierId).toBe(
      'pro',
    )
    const me = await t.json('GET', '/v1/account/me', { token: u.session })
    expect(me.body.quota_tier.id).toBe('pro')
    const unknown = await t.json('PUT', `/v1/admin/users/${u.user.id}/tier`, {
      token: op.session,
      body: { quota_tier_id: 'platinum' },
    })
    expect(unknown.status).toBe(400)
    expect(unknown.body.error_detail.fields[0].field).toBe('quota_tier_id')
    const missing = await t.json('PUT', '/v1/admin/users/01900000-0000-7000-8000-000000000000/tier', {
      token: op.session,
      body: { quota_tier_id: 'pro' },
    })
    expect(missing.status).toBe(404)
    expectV1Error(missing.body, 'account_not_found', missing.headers)
  })
})
