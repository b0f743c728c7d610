import { describe, expect, it } from 'bun:test'
import { many } from '../../db/query'
import { apiKeys } from '../../db/tables'
import { createTestApp } from '../support/harness'

describe('secrets never leave the server except in a creation answer', () => {
  it('no list, detail or account route carries a key hash or a plaintext key', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const op = await t.createUser({ operator: true })
    const u = await t.createUser()
    const plaintexts = [u.apiKey, op.apiKey, await t.runtimeKey(u)]
    plaintexts.push(
      (await t.json('POST', '/api/api-keys', { token: u.apiKey, body: { name: 'x' } })).body.key,
    )
    plaintexts.push((await t.json('POST', '/v1/keys', { token: u.session })).body.key)
    plaintexts.push(
      (await t.json('POST', `/v1/admin/users/${u.user.id}/keys`, { token: op.session })).body.key,
    )
    const rotated = (await t.json('GET', '/v1/keys', { token: u.session })).body[0]
    plaintexts.push((await t.json('POST', `/v1/keys/${rotated.id}/rotate`, { token: u.session })).body.key)
    const hashes = (await many(t.store.orm.select({ h: apiKeys.keyHash }).from(apiKeys))).map((r) => r.h)
    expect(hashes.length).toBe(7)
    const reads: [string, string, string][] = [
      ['GET', '/api/api-keys', u.apiKey],
      ['GET', '/api/account', u.apiKey],
      ['GET', '/api/status', u.apiKey],
      ['GET', '/v1/keys', u.session],
      ['GET', '/v1/account/me', u.session],
      ['GET', `/v1/admin/users/${u.user.id}`, op.session],
      ['GET', '/v1/admin/users', op.session],
    ]
    for (const [method, path, token] of reads) {
      const r = await t.json(method, path, { token })
      expect({ path, status: r.status }).toEqual({ path, status: 200 })
      for (const secret of [...hashes, ...plaintexts])
        expect({ path, leaked: r.text.includes(secret) }).toEqual({ path, leaked: false })
      expect(r.text).not.toContain('key_hash')
      expect(r.text).not.toContain('keyHash')
    }
  })
})
