import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, runToEnd, SOURCE_CLI, waitForPort } from '../support/binary'
import { hasPostgres, type PostgresCluster, postgresTool, startPostgres } from '../support/postgres'

// `custodian serve` on PostgreSQL, as an operator starts it: DATABASE_URL, the guard on several
// instances, migrations at start, a user minted by the CLI, and the API answering from the
// database. (The HTTP suite runs on PostgreSQL with TEST_DATABASE=postgres; this is the process.)

describe.skipIf(!hasPostgres())('custodian serve on PostgreSQL', () => {
  let cluster: PostgresCluster
  let url: string
  let dir: string
  beforeAll(async () => {
    cluster = await startPostgres()
    await cluster.sql`CREATE DATABASE served`
    url = `postgres://custodian:sekret-pw@localhost/served?host=${cluster.socketPath.replace(/\/\.s\.PGSQL\.\d+$/, '')}`
    dir = mkdtempSync(join(tmpdir(), 'custodian-pgserve-'))
  })
  afterAll(() => {
    cluster?.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  const env = (extra: Record<string, string>) => ({
    ...process.env,
    STORAGE_DIR: join(dir, 'files'),
    LOG_LEVEL: 'warn',
    ...extra,
  })
  const cli = (args: string[], extra: Record<string, string>) =>
    runToEnd([...SOURCE_CLI, ...args], env(extra), dir)

  /** `custodian serve` with these variables until `fn` is done, then SIGTERM. */
  const whileServing = async (extra: Record<string, string>, fn: (base: string) => Promise<void>) => {
    const port = await freePort()
    const server = Bun.spawn([...SOURCE_CLI, 'serve'], {
      cwd: dir,
      env: env({ ...extra, PORT: String(port), HOST: '127.0.0.1' }),
      stdout: 'ignore',
      stderr: 'ignore',
    })
    try {
      await waitForPort(port, 'custodian serve on PostgreSQL')
      await fn(`http://127.0.0.1:${port}`)
    } finally {
      server.kill('SIGTERM')
      await server.exited
    }
  }

  it('refuses to start without shared rate limits unless one instance is declared, naming why', async () => {
    const alone = await cli(['serve'], { DATABASE_URL: url })
    expect(alone.code).toBe(78)
    expect(alone.stderr).toContain('REDIS_URL')
    expect(alone.stderr).toContain('INSTANCES=1')
    const several = await cli(['serve'], { DATABASE_URL: url, INSTANCES: '3' })
    expect(several.code).toBe(78)
    expect(several.stderr).toContain('REDIS_URL')
    // Several instances on one SQLite file: refused, pointing at the shared store.
    const onSqlite = await cli(['serve'], { INSTANCES: '3' })
    expect(onSqlite.code).toBe(78)
    expect(onSqlite.stderr).toContain('DATABASE_URL')
    for (const r of [alone, several]) expect(r.stderr + r.stdout).not.toContain('sekret-pw')
  })

  it('names an unreachable database without its password', async () => {
    const r = await cli(['serve'], {
      DATABASE_URL: 'postgres://custodian:sekret-pw@localhost/none?host=/nonexistent',
      INSTANCES: '1',
    })
    expect(r.code).toBe(78)
    expect(r.stderr).toContain('DATABASE_URL=postgres://custodian:***@localhost/none')
    expect(r.stderr + r.stdout).not.toContain('sekret-pw')
  })

  it("runs the purge on PostgreSQL, and points backup and restore at PostgreSQL's own tools", async () => {
    const extra = { DATABASE_URL: url, INSTANCES: '1' }
    const purge = await cli(['purge'], extra)
    expect(purge.stderr).toBe('')
    expect(purge.code).toBe(0)
    expect(JSON.parse(purge.stdout)).toMatchObject({ hardDeleted: 0, resumed: 0 })
    for (const command of [
      ['backup', '--to', join(dir, 'b.db')],
      ['restore', '--from', join(dir, 'b.db')],
    ]) {
      const r = await cli(command, extra)
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('pg_dump')
    }
  })

  it('migrates at start, mints a user from the CLI and serves the API from PostgreSQL', async () => {
    const extra = { DATABASE_URL: url, INSTANCES: '1' }
    const created = await cli(['user', 'create', '--email', 'pg@example.com', '--json'], extra)
    expect(created.code).toBe(0)
    const { apiKey } = JSON.parse(created.stdout) as { apiKey: string }
    await whileServing(extra, async (base) => {
      const ready = (await (await fetch(`${base}/readyz`)).json()) as Record<string, unknown>
      expect(ready).toMatchObject({ status: 'ready', database: 'ok', pendingMigrations: 0 })
      const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }
      const app = await fetch(`${base}/api/apps`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ appName: 'On Postgres' }),
      })
      expect(app.status).toBe(201)
      const list = (await (await fetch(`${base}/api/apps`, { headers: auth })).json()) as { slug: string }[]
      expect(list.map((a) => a.slug)).toEqual(['on-postgres'])
      // The rows are PostgreSQL's: read back with a client of its own.
      const own = new Bun.SQL({ url, max: 1 })
      const found = (await own`SELECT app_name FROM apps`) as { app_name: string }[]
      await own.close()
      expect(found.map((r) => r.app_name)).toEqual(['On Postgres'])
      expect(await (await fetch(`${base}/api/status`, { headers: auth })).json()).toMatchObject({
        appCount: 1,
      })
    })
  }, 60_000)

  it('forgets again, at start, an account erased after the pg_dump a database was restored from', async () => {
    // Its own database and data directory (where this instance keeps its erasure ledger).
    await cluster.sql`CREATE DATABASE restored`
    const restoredUrl = url.replace('/served?', '/restored?')
    const dataDir = join(dir, 'ledger-instance')
    const extra = { DATABASE_URL: restoredUrl, INSTANCES: '1', DATABASE_PATH: join(dataDir, 'custodian.db') }
    const created = await cli(['user', 'create', '--email', 'restored@example.com', '--json'], extra)
    const { apiKey, userId } = JSON.parse(created.stdout) as { apiKey: string; userId: string }
    const dump = join(dir, 'before-erasure.dump')
    const pg = (tool: string, args: string[]) => postgresTool(cluster, tool, args)
    expect((await pg('pg_dump', ['-Fc', '-f', dump, 'restored'])).code).toBe(0)

    const auth = { authorization: `Bearer ${apiKey}` }
    await whileServing(extra, async (base) => {
      expect((await fetch(`${base}/api/account`, { method: 'DELETE', headers: auth })).status).toBe(204)
    })
    const own = new Bun.SQL({ url: restoredUrl, max: 1 })
    const usersNamed = async () => (await own`SELECT count(*)::int AS n FROM users WHERE id = ${userId}`)[0].n
    try {
      expect(await usersNamed()).toBe(0)
      // The operator restores the dump taken before the erasure: the account is back in the rows.
      const restore = await pg('pg_restore', ['--clean', '--if-exists', '-d', 'restored', dump])
      expect(restore.stderr).toBe('')
      expect(await usersNamed()).toBe(1)
      // The next start re-applies the erasure from the ledger before it serves anything.
      await whileServing(extra, async (base) => {
        expect(await usersNamed()).toBe(0)
        expect((await fetch(`${base}/api/status`, { headers: auth })).status).toBe(401)
      })
      const [receipt] = await own`SELECT step, user_id FROM account_deletions`
      expect(receipt).toEqual({ step: 'done', user_id: null })
    } finally {
      await own.close()
    }
  }, 60_000)
})
