import { afterEach, expect, it } from 'bun:test'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '../../src/lib/logger'
import { hashUserId, legacyHashUserId, pseudonymKeyPath } from '../../src/lib/pseudonym'
import { createTestApp } from '../support/harness'
import { describeSqlite } from '../support/test-database'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const logUserOf = (lines: string[]) =>
  lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.user)?.user as string

describeSqlite('keyed pseudonyms', () => {
  it('logs a user hash that cannot be recomputed from the user id, and that changes with the key', async () => {
    const seen: string[] = []
    for (const key of ['k'.repeat(32), 'q'.repeat(32)]) {
      const lines: string[] = []
      const t = createTestApp({
        sqlite: true,
        env: { PSEUDONYM_KEY: key, LOG_LEVEL: 'info' },
        logger: createLogger('info', (l) => lines.push(l)),
      })
      const u = await t.createUser()
      expect((await t.request('GET', '/api/status', { token: u.apiKey })).status).toBe(200)
      await Bun.sleep(10) // the log line is written after the response
      const logged = logUserOf(lines)
      expect(logged).toBe(hashUserId(u.user.id))
      expect(logged).not.toBe(legacyHashUserId(u.user.id))
      const hmac = new Bun.CryptoHasher('sha256', key).update(`custodian:user:${u.user.id}`).digest('hex')
      expect(logged).toBe(hmac)
      seen.push(new Bun.CryptoHasher('sha256', key).update('custodian:user:same-id').digest('hex'))
      t.close()
    }
    expect(seen[0]).not.toBe(seen[1])
  })

  it('generates the key beside a database file on first start, readable only by its owner, and keeps it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custodian-pseudonym-'))
    dirs.push(dir)
    const databasePath = join(dir, 'custodian.db')
    const first = createTestApp({ sqlite: true, databasePath })
    const hash = hashUserId('some-user')
    first.close()
    expect(statSync(pseudonymKeyPath(databasePath)).mode & 0o777).toBe(0o600)
    const second = createTestApp({ sqlite: true, databasePath })
    expect(hashUserId('some-user')).toBe(hash)
    second.close()
  })
})
