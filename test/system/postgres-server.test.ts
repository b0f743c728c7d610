import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, runToEnd, SOURCE_CLI, waitForPort } from '../support/binary'
import { hasPostgres, type PostgresCluster, startPostgres } from '../support/postgres'

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
    const port = await freePort()
    const server = Bun.spawn([...SOURCE_CLI, 'serve'], {
      cwd: dir,
      env: env({ ...extra, PORT: String(port), HOST: '127.0.0.1' }),
      stdout: 'ignore',
      stderr: 'pipe',
    })
    try {
      await waitForPort(port, 'custodian serve on PostgreSQL')
      const base = `http://127.0.0.1:${port}`
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
    } finally {
      server.kill('SIGTERM')
      await server.exited
    }
  }, 60_000)
})
