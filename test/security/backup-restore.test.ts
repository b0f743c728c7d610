import { afterEach, expect, it } from 'bun:test'
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli'
import { applyErasureLedger } from '../../src/services/deletion'
import { deliverAllDue } from '../../src/services/webhook-delivery'
import { freePort, runToEnd, SOURCE_CLI, waitForPort } from '../support/binary'
import { createTestApp, type TestApp, type TestUser } from '../support/harness'
import { describeSqlite, sqliteOf } from '../support/test-database'
import { registerEndpoint, startReceiver, WEBHOOK_TEST_ENV } from '../support/webhook-receiver'

const dirs: string[] = []
const savedEnv = { ...process.env }
afterEach(() => {
  process.env = { ...savedEnv }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A deployment on disk with two users; the CLI sees the same DATABASE_PATH. */
async function deployment(env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-restore-'))
  dirs.push(dir)
  const databasePath = join(dir, 'custodian.db')
  const storageDir = join(dir, 'files')
  Object.assign(process.env, { DATABASE_PATH: databasePath, STORAGE_DIR: storageDir, LOG_LEVEL: 'silent' })
  const open = () =>
    createTestApp({
      sqlite: true,
      databasePath,
      env: { STORAGE_DIR: storageDir, RATE_LIMIT_ENABLED: 'false', ...env },
    })
  const t = open()
  const erased = await t.createUser({ email: `erased-${crypto.randomUUID()}@example.com` })
  const kept = await t.createUser()
  for (const u of [erased, kept])
    expect(
      (await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Restored App' } })).status,
    ).toBe(201)
  return { dir, databasePath, open, t, erased, kept }
}

/** A backup copied over the database by hand, with the server stopped (no `custodian restore`). */
function copyBackupIntoPlace(backup: string, databasePath: string) {
  for (const suffix of ['-wal', '-shm']) rmSync(`${databasePath}${suffix}`, { force: true })
  // A new inode, as a fresh process would see it: this process's closed connection still holds
  // POSIX locks on the old one.
  copyFileSync(backup, `${databasePath}.copy`)
  renameSync(`${databasePath}.copy`, databasePath)
}

const cli = async (argv: string[]) => {
  const lines: string[] = []
  const code = await main(argv, (line) => lines.push(line))
  return { code, output: lines.join('\n') }
}

async function expectForgotten(t: TestApp, erased: TestUser, kept: TestUser, databasePath: string) {
  expect((await t.request('GET', '/api/status', { token: erased.apiKey })).status).toBe(401)
  expect((await t.request('GET', '/v1/account/me', { token: erased.session })).status).toBe(401)
  expect((await t.request('GET', '/api/status', { token: kept.apiKey })).status).toBe(200)
  sqliteOf(t.store).sqlite.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  const bytes = readFileSync(databasePath)
  expect(bytes.includes(Buffer.from(erased.user.email))).toBe(false)
  expect(bytes.includes(Buffer.from(erased.user.id))).toBe(false)
  expect(bytes.includes(Buffer.from(kept.user.email))).toBe(true)
}

describeSqlite('backups that keep erasures', () => {
  it('custodian restore brings a backup back without the accounts erased after it was taken', async () => {
    const { dir, databasePath, open, t, erased, kept } = await deployment()
    const backup = join(dir, 'backups', 'before.db')
    expect((await cli(['backup', '--to', backup])).code).toBe(0)
    expect((await t.request('DELETE', '/api/account', { token: erased.apiKey })).status).toBe(204)
    expect(readFileSync(join(dir, 'erasure-ledger.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1)
    t.close()

    const restored = await cli(['restore', '--from', backup, '--json'])
    expect(restored.code).toBe(0)
    expect(JSON.parse(restored.output)).toMatchObject({ erased: 1, receiptsCopied: 0 })
    expect(existsSync(`${databasePath}.restoring`)).toBe(false)

    const after = open()
    await expectForgotten(after, erased, kept, databasePath)
    // The restored database carries the receipt again, so a later backup of it keeps the erasure.
    expect(
      await sqliteOf(after.store)
        .sqlite.query("SELECT count(*) AS n FROM account_deletions WHERE step = 'done'")
        .get(),
    ).toEqual({
      n: 1,
    })
    after.close()
    // Running it again is safe.
    expect((await cli(['restore', '--from', backup])).code).toBe(0)
  })

  it('a legal hold placed after the backup survives the restore (the ledger keeps it)', async () => {
    const { dir, open, t, kept } = await deployment()
    const operator = await t.createUser({ operator: true })
    const backup = join(dir, 'before-hold.db')
    expect((await cli(['backup', '--to', backup])).code).toBe(0)
    const put = await t.json('PUT', `/v1/admin/users/${kept.user.id}/legal-hold`, {
      token: operator.session,
      body: { reason: 'regulator inquiry' },
    })
    expect(put.status).toBe(200)
    t.close()
    const restored = await cli(['restore', '--from', backup, '--json'])
    expect(JSON.parse(restored.output)).toMatchObject({ holdsPutBack: 1 })
    const after = open()
    const holds = await after.json('GET', '/v1/admin/legal-holds', { token: operator.session })
    expect(holds.body.legal_holds).toMatchObject([{ user_id: kept.user.id, reason: 'regulator inquiry' }])
    expect((await after.json('DELETE', '/api/account', { token: kept.apiKey })).status).toBe(409)
    after.close()
  })

  it('a hold released after the backup stays released: the restore replays the erasure that followed', async () => {
    const { dir, databasePath, open, t, erased, kept } = await deployment()
    const operator = await t.createUser({ operator: true })
    const path = `/v1/admin/users/${erased.user.id}/legal-hold`
    expect((await t.json('PUT', path, { token: operator.session, body: { reason: 'audit' } })).status).toBe(
      200,
    )
    const backup = join(dir, 'while-held.db')
    expect((await cli(['backup', '--to', backup])).code).toBe(0)
    expect((await t.request('DELETE', path, { token: operator.session })).status).toBe(204)
    expect((await t.request('DELETE', '/api/account', { token: erased.apiKey })).status).toBe(204)
    t.close()
    const restored = await cli(['restore', '--from', backup, '--json'])
    expect(JSON.parse(restored.output)).toMatchObject({ erased: 1, blocked: 0 })
    const after = open()
    await expectForgotten(after, erased, kept, databasePath)
    after.close()
  })

  it('a backup copied into place by hand is corrected before the server serves a request', async () => {
    const { dir, databasePath, open, t, erased, kept } = await deployment()
    const backup = join(dir, 'before.db')
    expect((await cli(['backup', '--to', backup])).code).toBe(0)
    expect((await t.request('DELETE', '/api/account', { token: erased.apiKey })).status).toBe(204)
    t.close()
    copyBackupIntoPlace(backup, databasePath)

    const served = open()
    // What `custodian serve` runs before it listens:
    expect(await applyErasureLedger(served.deps)).toMatchObject({ erased: 1 })
    await expectForgotten(served, erased, kept, databasePath)
    served.close()
  })

  it('asks the processors again to erase an account a restored backup brought back', async () => {
    const receiver = startReceiver()
    const { dir, databasePath, open, t, erased } = await deployment(WEBHOOK_TEST_ENV)
    const op = await t.createUser({ operator: true })
    await registerEndpoint(t, op.session, { url: receiver.url, events: ['account.erased'], processor: true })
    const backup = join(dir, 'before.db')
    expect((await cli(['backup', '--to', backup])).code).toBe(0)
    expect((await t.request('DELETE', '/api/account', { token: erased.apiKey })).status).toBe(204)
    await deliverAllDue(t.deps)
    t.close()
    copyBackupIntoPlace(backup, databasePath)

    const served = open()
    expect(await applyErasureLedger(served.deps)).toMatchObject({ erased: 1 })
    await deliverAllDue(served.deps)
    const asks = receiver.ofType('account.erasure_requested').map((r) => r.json.data)
    expect(asks.map((data) => data.mode)).toEqual(['immediate', 'restore_replay'])
    expect(asks[1]?.erasure_id).toBe(asks[0]?.erasure_id)
    expect(asks[1]?.user_id).toBe(erased.user.id)
    served.close()
  })

  it('refuses a restore without --from or from a missing file, leaving the database as it was', async () => {
    const { databasePath, t } = await deployment()
    t.close()
    const before = readFileSync(databasePath)
    expect((await cli(['restore'])).code).toBe(1)
    expect((await cli(['restore', '--from', '/nonexistent/backup.db'])).code).toBe(1)
    expect(readFileSync(databasePath).equals(before)).toBe(true)
  })

  /** A deployment with a backup taken before `erased` was erased, its server stopped. */
  async function erasedAfterBackup() {
    const d = await deployment()
    const backup = join(d.dir, 'before.db')
    expect((await cli(['backup', '--to', backup])).code).toBe(0)
    expect((await d.t.request('DELETE', '/api/account', { token: d.erased.apiKey })).status).toBe(204)
    d.t.close()
    return { ...d, backup, ledger: join(d.dir, 'erasure-ledger.jsonl') }
  }

  it('takes erasures from the replaced database when the ledger is torn, and repairs the ledger', async () => {
    const { backup, ledger, open, erased, kept, databasePath } = await erasedAfterBackup()
    const line = readFileSync(ledger, 'utf8')
    truncateSync(ledger, line.length - 12) // a crash mid-append: no newline, no closing brace
    expect((await cli(['restore', '--from', backup])).code).toBe(0)
    const after = open()
    await expectForgotten(after, erased, kept, databasePath)
    after.close()
    // The receipt was appended on a line of its own, after the torn one: readable next time.
    const lines = readFileSync(ledger, 'utf8').split('\n')
    expect(JSON.parse(lines[1] as string).userHash).toMatch(/^[0-9a-f]{64}$/)
  })

  it('takes erasures from the replaced database when the ledger is empty', async () => {
    const { backup, ledger, open, erased, kept, databasePath } = await erasedAfterBackup()
    writeFileSync(ledger, '')
    expect((await cli(['restore', '--from', backup])).code).toBe(0)
    const after = open()
    await expectForgotten(after, erased, kept, databasePath)
    after.close()
  })

  it('stops when the ledger is missing, unless --ledger-missing-ok is given', async () => {
    const { backup, ledger, open, erased, kept, databasePath } = await erasedAfterBackup()
    rmSync(ledger)
    const before = readFileSync(databasePath)
    const refused = await runToEnd([...SOURCE_CLI, 'restore', '--from', backup], { ...process.env })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('erasure ledger')
    expect(refused.stderr).toContain('--ledger-missing-ok')
    expect(readFileSync(databasePath).equals(before)).toBe(true)
    expect((await cli(['restore', '--from', backup, '--ledger-missing-ok'])).code).toBe(0)
    const after = open()
    await expectForgotten(after, erased, kept, databasePath)
    after.close()
  })

  it('removes its staging copy when the restore fails', async () => {
    const { dir, databasePath, t } = await deployment()
    t.close()
    const garbage = join(dir, 'not-a-backup.db')
    writeFileSync(
      garbage,
      'this is not a SQLite database, but it is long enough to look like a file '.repeat(20),
    )
    expect((await cli(['restore', '--from', garbage])).code).toBe(1)
    expect(readdirSync(dir).filter((f) => f.includes('.restoring'))).toEqual([])
    expect(existsSync(databasePath)).toBe(true)
  })

  /** A deployment backed up, then served by a real `custodian serve` process on its file. */
  async function servedWithBackup() {
    const d = await deployment()
    const backup = join(d.dir, 'before.db')
    expect((await cli(['backup', '--to', backup])).code).toBe(0)
    d.t.close()
    const port = await freePort()
    const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent' }
    const server = Bun.spawn([...SOURCE_CLI, 'serve'], {
      cwd: d.dir,
      env,
      stdout: 'ignore',
      stderr: 'ignore',
    })
    await waitForPort(port, 'custodian serve')
    return { ...d, backup, env, server }
  }

  it('refuses to restore under a running server, and a second server on the same file, naming the first', async () => {
    const { dir, databasePath, backup, env, server } = await servedWithBackup()
    try {
      const restore = await runToEnd([...SOURCE_CLI, 'restore', '--from', backup], env, dir)
      expect(restore.code).toBe(1)
      expect(restore.stderr).toContain(`process ${server.pid}`)
      expect(restore.stderr.trim().split('\n')).toHaveLength(1)
      const second = await runToEnd([...SOURCE_CLI, 'serve'], { ...env, PORT: String(await freePort()) }, dir)
      expect(second.code).toBe(78)
      expect(second.stderr).toContain(`process ${server.pid}`)
      expect(existsSync(`${databasePath}.restoring`)).toBe(false)
    } finally {
      server.kill('SIGTERM')
      await server.exited
    }
    // Once it has stopped, the restore runs, telling a log (not a terminal) what it is doing.
    const restored = await runToEnd([...SOURCE_CLI, 'restore', '--from', backup], env, dir)
    expect(restored.code).toBe(0)
    expect(restored.stderr).toContain('erasing again the accounts erased since the backup\n')
  })

  it('leaves no stale lock behind a server killed with -9', async () => {
    const { dir, backup, env, server } = await servedWithBackup()
    server.kill('SIGKILL')
    await server.exited
    expect((await runToEnd([...SOURCE_CLI, 'restore', '--from', backup], env, dir)).code).toBe(0)
  })
})
