import { afterEach, expect, it } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expectApiError, expectV1Error } from '../support/envelopes'
import { createTestApp } from '../support/harness'
import { describeSqlite, sqliteOf } from '../support/test-database'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describeSqlite('minted keys are never readable at rest', () => {
  it('keeps no plaintext key in the database or a backup, and replays a key only to the credential that minted it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custodian-secrets-'))
    dirs.push(dir)
    const databasePath = join(dir, 'custodian.db')
    const t = createTestApp({
      sqlite: true,
      databasePath,
      env: { RATE_LIMIT_ENABLED: 'false', STORAGE_DIR: join(dir, 'files') },
    })
    const u = await t.createUser()
    const operator = await t.createUser({ operator: true })
    const post = (path: string, token: string, key: string, body: unknown = { name: 'k' }) =>
      t.json('POST', path, { token, body, headers: { 'idempotency-key': key } })

    const orbit = await post('/api/api-keys', u.apiKey, 'mint-orbit')
    const runtime = await post('/v1/keys', u.session, 'mint-runtime')
    const rotated = await post(`/v1/keys/${runtime.body.id}/rotate`, u.session, 'mint-rotate', {})
    const forOperator = await post(`/v1/admin/users/${u.user.id}/keys`, operator.session, 'mint-operator', {})
    const minted = [orbit.body.key, runtime.body.key, rotated.body.key, forOperator.body.key] as string[]
    expect(minted.map((k) => k.slice(0, 3))).toEqual(['ok_', 'ns_', 'ns_', 'ns_'])

    // The same credential gets the same answer again, key included.
    const again = await post('/api/api-keys', u.apiKey, 'mint-orbit')
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.body.key).toBe(orbit.body.key)
    const rotatedAgain = await post(`/v1/keys/${runtime.body.id}/rotate`, u.session, 'mint-rotate', {})
    expect(rotatedAgain.body.key).toBe(rotated.body.key)

    // Another credential of the same user: no key, and nothing minted.
    const second = (await post('/api/api-keys', u.apiKey, 'second-key')).body.key as string
    const other = await post('/api/api-keys', second, 'mint-orbit')
    expect(other.status).toBe(422)
    expectApiError(other.body, 'IDEMPOTENCY_KEY_REUSE')
    expect(other.text).not.toContain(orbit.body.key)
    const otherV1 = await post(
      '/v1/keys',
      (await t.session(u.user.id, u.user.email, { ttlMs: 7200_000 })) as string,
      'mint-runtime',
    )
    expect(otherV1.status).toBe(422)
    expectV1Error(otherV1.body, 'conflict', otherV1.headers)
    expect(otherV1.text).not.toContain(runtime.body.key)

    const backup = join(dir, 'backup.db')
    sqliteOf(t.store).sqlite.run('VACUUM INTO ?', [backup])
    sqliteOf(t.store).sqlite.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    const files = [databasePath, backup].map((path) => readFileSync(path))
    for (const key of [...minted, second])
      for (const bytes of files)
        expect({ key, found: bytes.includes(Buffer.from(key)) }).toEqual({ key, found: false })
    t.close()
  })
})
