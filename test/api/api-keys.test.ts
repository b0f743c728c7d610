import { describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { one } from '../../db/query'
import { apiKeys } from '../../db/tables'
import { sha256Hex } from '../../src/lib/crypto'
import { expectApiError } from '../support/envelopes'
import { createTestApp } from '../support/harness'

describe('/api/api-keys', () => {
  it('creates a key shown once, which then authenticates', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    const r = await t.json('POST', '/api/api-keys', { token: u.apiKey, body: { name: 'CI deploys' } })
    expect(r.status).toBe(201)
    expect(Object.keys(r.body).sort()).toEqual(['createdAt', 'key', 'keyId', 'name', 'prefix'])
    expect(r.body.key).toMatch(/^ok_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}$/)
    expect(r.body.key.startsWith(r.body.prefix)).toBe(true)
    expect(r.body).toMatchObject({ name: 'CI deploys', createdAt: t.clock.now() })
    const stored = await one(t.store.orm.select().from(apiKeys).where(eq(apiKeys.id, r.body.keyId)))
    expect(stored?.keyHash).toBe(sha256Hex(r.body.key))
    expect(JSON.stringify(stored)).not.toContain(r.body.key)
    expect((await t.request('GET', '/api/status', { token: r.body.key })).status).toBe(200)
  })

  it('lists active keys without secrets or hashes', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    const created = await t.json('POST', '/api/api-keys', { token: u.apiKey, body: { name: 'second' } })
    const r = await t.json('GET', '/api/api-keys', { token: u.session })
    expect(r.status).toBe(200)
    expect(r.body).toHaveLength(2)
    for (const key of r.body)
      expect(Object.keys(key).sort()).toEqual(['createdAt', 'keyId', 'lastUsedAt', 'name', 'prefix'])
    expect(r.text).not.toContain(created.body.key)
    expect(r.text).not.toContain(sha256Hex(created.body.key))
    expect(r.text).not.toContain(u.apiKey)
  })

  it('revokes a key: it fails on its next use and disappears from the list', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    const created = await t.json('POST', '/api/api-keys', { token: u.apiKey, body: { name: 'temp' } })
    const del = await t.request('DELETE', `/api/api-keys/${created.body.keyId}`, { token: u.apiKey })
    expect(del.status).toBe(204)
    expect(await del.text()).toBe('')
    expect((await t.request('GET', '/api/status', { token: created.body.key })).status).toBe(401)
    const list = await t.json('GET', '/api/api-keys', { token: u.apiKey })
    expect(list.body.map((k: any) => k.keyId)).not.toContain(created.body.keyId)
    const again = await t.json('DELETE', `/api/api-keys/${created.body.keyId}`, { token: u.apiKey })
    expect(again.status).toBe(404)
    expectApiError(again.body, 'NOT_FOUND')
  })

  it("answers 404 for another user's key, never 403, and leaves it working", async () => {
    const t = createTestApp()
    const owner = await t.createUser()
    const intruder = await t.createUser()
    const [ownKey] = (await t.json('GET', '/api/api-keys', { token: owner.apiKey })).body
    const r = await t.json('DELETE', `/api/api-keys/${ownKey.keyId}`, { token: intruder.apiKey })
    expect(r.status).toBe(404)
    expectApiError(r.body, 'NOT_FOUND')
    expect((await t.request('GET', '/api/status', { token: owner.apiKey })).status).toBe(200)
  })

  it('refuses an 11th active key with API_KEY_LIMIT_REACHED', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_KEYS_CREATE: '100/3600' } })
    const u = await t.createUser() // holds 1 key
    for (let i = 2; i <= 10; i++)
      expect(
        (await t.request('POST', '/api/api-keys', { token: u.apiKey, body: { name: `k${i}` } })).status,
      ).toBe(201)
    const r = await t.json('POST', '/api/api-keys', { token: u.apiKey, body: { name: 'one too many' } })
    expect(r.status).toBe(400)
    expectApiError(r.body, 'API_KEY_LIMIT_REACHED')
    const [oldest] = (await t.json('GET', '/api/api-keys', { token: u.apiKey })).body.slice(-1)
    await t.request('DELETE', `/api/api-keys/${oldest.keyId}`, { token: u.apiKey })
    expect(
      (await t.request('POST', '/api/api-keys', { token: u.session, body: { name: 'after revoke' } })).status,
    ).toBe(201)
  })

  it('validates the name', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    for (const body of [{}, { name: '' }, { name: 'x'.repeat(101) }, { name: 42 }]) {
      const r = await t.json('POST', '/api/api-keys', { token: u.apiKey, body })
      expect(r.status).toBe(400)
      expect(expectApiError(r.body, 'VALIDATION_FAILED').details[0].path).toEqual(['name'])
    }
  })
})
