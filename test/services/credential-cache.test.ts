import { afterEach, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestApp, type TestApp } from '../support/harness'
import { describeSqlite } from '../support/test-database'

// Verified API keys are cached under a credential epoch shared by every process on the database
// (db/change-epochs.ts). These tests change credentials from outside the serving process and
// check the very next request: without the shared epoch the cache would keep answering as before.

const ROOT = join(import.meta.dir, '../..')
let dir = ''
let t: TestApp | null = null
afterEach(() => {
  t?.close()
  t = null
  if (dir) rmSync(dir, { recursive: true, force: true })
})

function fileBackedApp() {
  dir = mkdtempSync(join(tmpdir(), 'custodian-credential-cache-'))
  return createTestApp({
    databasePath: join(dir, 'custodian.db'),
    env: { ACCOUNT_DELETION_GRACE_DAYS: '0', STORAGE_DIR: join(dir, 'files') },
  })
}

/** Runs a command of the CLI in its own process, on the same database. */
function cli(args: string[]) {
  const run = Bun.spawnSync(['bun', 'src/index.ts', ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_PATH: join(dir, 'custodian.db'),
      STORAGE_DIR: join(dir, 'files'),
      LOG_LEVEL: 'silent',
    },
  })
  if (run.exitCode !== 0) throw new Error(`custodian ${args.join(' ')}: ${run.stderr.toString()}`)
  return run.stdout.toString()
}

describeSqlite('cached credentials across processes', () => {
  it('refuses a key on the request right after `custodian purge` erased its account in another process', async () => {
    t = fileBackedApp()
    const app = t
    const u = await app.createUser()
    const status = () => app.request('GET', '/api/status', { token: u.apiKey })
    expect((await status()).status).toBe(200)
    expect((await app.request('DELETE', '/v1/account/me', { token: u.session })).status).toBe(202)
    // Soft-deleted: the key is suspended (403), and that answer is now what the cache holds.
    for (let i = 0; i < 3; i++) {
      const refused = await status()
      expect(refused.status).toBe(403)
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN')
    }
    cli(['purge'])
    const after = await status()
    expect(after.status).toBe(401)
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED')
  }, 30_000)

  it('refuses a session token on the request right after `custodian purge` erased its account', async () => {
    t = fileBackedApp()
    const app = t
    const u = await app.createUser()
    // PATCH: refused while the account is soft-deleted (GET /v1/account/me is still allowed).
    const rename = () =>
      app.request('PATCH', '/v1/account/me', { token: u.session, body: { display_name: 'renamed' } })
    // Twice: the second is answered from the cached user row.
    for (let i = 0; i < 2; i++) expect((await rename()).status).toBe(200)
    expect((await app.request('DELETE', '/v1/account/me', { token: u.session })).status).toBe(202)
    const suspended = await rename()
    expect(suspended.status).toBe(403)
    expect(((await suspended.json()) as { code: string }).code).toBe('account_deleted')
    cli(['purge'])
    const after = await rename()
    expect(after.status).toBe(401)
    expect(((await after.json()) as { code: string }).code).toBe('unauthorized')
  }, 30_000)

  it('keeps serving other accounts from the cache and re-reads them after the epoch moved', async () => {
    t = fileBackedApp()
    const app = t
    const kept = await app.createUser()
    const erased = await app.createUser()
    for (const u of [kept, erased])
      expect((await app.request('GET', '/api/status', { token: u.apiKey })).status).toBe(200)
    expect((await app.request('DELETE', '/v1/account/me', { token: erased.session })).status).toBe(202)
    cli(['purge'])
    expect((await app.request('GET', '/api/status', { token: kept.apiKey })).status).toBe(200)
    expect((await app.request('GET', '/api/status', { token: erased.apiKey })).status).toBe(401)
  }, 30_000)
})
