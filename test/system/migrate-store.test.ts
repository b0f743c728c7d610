import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SQL } from 'bun'
import { SignJWT } from 'jose'
import { filesUnder } from '../../db/pg/move'
import { freePort, runToEnd, waitForPort } from '../support/binary'
import {
  createTestApp,
  TEST_JWT_SECRET,
  TEST_PUBLIC_URL,
  type TestApp,
  type TestUser,
} from '../support/harness'
import { VALID_PAGES } from '../support/page-fixtures'
import { hasPostgres, type PostgresCluster, startPostgres } from '../support/postgres'
import { seedFullAccount } from '../support/seed'
import { describeSqlite, onPostgres, sqliteOf } from '../support/test-database'

// `custodian migrate-store`, run as the CLI in its own process, from a SQLite deployment with a
// bit of everything (seeded accounts, a deployed site's files, the pseudonym key) into databases
// of a throwaway PostgreSQL cluster.

const ROOT = join(import.meta.dir, '../..')
// custodian_moved_to: the note a finished move leaves in the source (db/sqlite/moved.ts), not moved itself.
const INTERNAL = new Set(['__drizzle_migrations', 'sqlite_sequence', 'custodian_moved_to'])

// The SQLite pass runs it (it starts its own PostgreSQL); a PostgreSQL pass has no SQLite source.
const suite = onPostgres ? describeSqlite : describe.skipIf(!hasPostgres())
suite('custodian migrate-store', () => {
  setDefaultTimeout(60_000)
  let pg: PostgresCluster
  let dir: string
  let t: TestApp
  let databasePath: string
  let storageDir: string
  let socketDir: string
  let databases = 0
  const people: TestUser[] = []

  beforeAll(async () => {
    pg = await startPostgres()
    socketDir = pg.socketPath.replace(/\/\.s\.PGSQL\.\d+$/, '')
    dir = mkdtempSync(join(tmpdir(), 'custodian-migrate-store-'))
    databasePath = join(dir, 'custodian.db')
    storageDir = join(dir, 'files')
    t = createTestApp({
      sqlite: true,
      databasePath,
      env: { STORAGE_DIR: storageDir, RATE_LIMIT_ENABLED: 'false' },
    })
    for (const email of ['ada@example.com', 'grace@example.com']) {
      const u = await t.createUser({ email })
      await seedFullAccount(t, u, { sandboxes: 40, usageDays: 5 })
      people.push(u)
    }
    // A deployed site: rendered files under STORAGE_DIR.
    const u = await t.createUser({ email: 'site@example.com' })
    const { appId } = (
      await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Weather Ünïcode' } })
    ).body as { appId: string }
    for (const [page, body] of Object.entries(VALID_PAGES))
      expect((await t.json('PUT', `/api/apps/${appId}/${page}`, { token: u.apiKey, body })).status).toBe(200)
    expect((await t.json('POST', `/api/apps/${appId}/deploy`, { token: u.apiKey })).status).toBe(200)
    sqliteOf(t.store).sqlite.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  })
  afterAll(() => {
    t?.close()
    pg?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** A new, empty database in the cluster, and its URL. */
  async function emptyDatabase(): Promise<string> {
    const name = `target_${++databases}`
    await pg.sql.unsafe(`CREATE DATABASE ${name}`)
    return `postgres://custodian@localhost/${name}?host=${encodeURIComponent(socketDir)}`
  }

  function migrateStore(args: string[]) {
    return Bun.spawn(['bun', 'src/index.ts', 'migrate-store', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_PATH: databasePath, STORAGE_DIR: storageDir, LOG_LEVEL: 'silent' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
  }

  async function finished(proc: ReturnType<typeof migrateStore>) {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    return { stdout, stderr, code }
  }

  const sqliteTables = async () =>
    (
      (await sqliteOf(t.store)
        .sqlite.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all()) as {
        name: string
      }[]
    )
      .map((r) => r.name)
      .filter((n) => !INTERNAL.has(n))

  it('copies every row and file, verified, and the rows read back equal the source', async () => {
    const url = await emptyDatabase()
    const run = await finished(migrateStore(['--to', url, '--json']))
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const report = JSON.parse(run.stdout) as {
      tables: { table: string; rows: number; sha256: string }[]
      files: { count: number }
    }
    // Every table, each with the source's count.
    expect(report.tables.map((r) => r.table).sort()).toEqual(await sqliteTables())
    for (const { table, rows } of report.tables) {
      const { n } = (await sqliteOf(t.store).sqlite.query(`SELECT count(*) AS n FROM "${table}"`).get()) as {
        n: number
      }
      expect({ table, rows }).toEqual({ table, rows: n })
    }
    expect(report.tables.find((r) => r.table === 'sandboxes')?.rows).toBeGreaterThanOrEqual(80)

    const target = new SQL(url)
    try {
      // Rows as PostgreSQL holds them, against SQLite's: JSON text verbatim, booleans, big integers.
      const user = (await sqliteOf(t.store)
        .sqlite.query("SELECT * FROM users WHERE email = 'ada@example.com'")
        .get()) as Record<string, unknown>
      const [copied] =
        await target`SELECT *, abuse_flags::text AS abuse_flags FROM users WHERE email = 'ada@example.com'`
      expect(copied.id).toBe(user.id)
      expect(copied.abuse_flags).toBe(user.abuse_flags)
      expect(copied.is_operator).toBe(user.is_operator === 1)
      expect(Number(copied.created_at)).toBe(user.created_at as number)
      const metadata = (
        (await sqliteOf(t.store).sqlite.query('SELECT id, metadata FROM sandboxes ORDER BY id').all()) as {
          id: string
          metadata: string | null
        }[]
      ).map((r) => [r.id, r.metadata])
      const copiedMetadata = (
        await target`SELECT id, metadata::text AS metadata FROM sandboxes ORDER BY id COLLATE "C"`
      ).map((r: { id: string; metadata: string | null }) => [r.id, r.metadata])
      expect(copiedMetadata).toEqual(metadata)

      // Every file under STORAGE_DIR, byte for byte, and the pseudonym key beside the database.
      const files = filesUnder(storageDir)
      expect(files.length).toBeGreaterThan(3)
      const stored = await target`SELECT path, bytes, sha256 FROM stored_files`
      const byPath = new Map(
        stored.map((r: { path: string; bytes: Uint8Array; sha256: string }) => [r.path, r]),
      )
      for (const file of files) {
        const row = byPath.get(file.path) as { bytes: Uint8Array; sha256: string } | undefined
        expect(row).toBeDefined()
        const bytes = readFileSync(file.file)
        expect(Buffer.from(row?.bytes ?? []).equals(bytes)).toBe(true)
        expect(row?.sha256).toBe(createHash('sha256').update(bytes).digest('hex'))
      }
      const key = byPath.get('system/pseudonym.key') as { bytes: Uint8Array } | undefined
      expect(Buffer.from(key?.bytes ?? []).equals(readFileSync(join(dir, 'pseudonym.key')))).toBe(true)
      expect(report.files.count).toBe(stored.length)
    } finally {
      await target.close()
    }

    // A second run into the same database is refused and changes nothing.
    const again = await finished(migrateStore(['--to', url]))
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('already holds data')
    const check = new SQL(url)
    try {
      const [{ n }] = await check`SELECT count(*)::int AS n FROM users`
      const { n: source } = (await sqliteOf(t.store)
        .sqlite.query('SELECT count(*) AS n FROM users')
        .get()) as {
        n: number
      }
      expect(n).toBe(source)
    } finally {
      await check.close()
    }
  })

  it('moved, answers both exports byte for byte as before, and its keys and tokens keep working', async () => {
    const url = await emptyDatabase()
    expect((await finished(migrateStore(['--to', url, '--json']))).code).toBe(0)
    // The same deployment served from PostgreSQL: same files, same secrets, same public URL.
    const port = await freePort()
    const server = Bun.spawn(['bun', 'src/index.ts', 'serve'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: url,
        INSTANCES: '1',
        STORAGE_DIR: storageDir,
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        PUBLIC_URL: TEST_PUBLIC_URL,
        RATE_LIMIT_ENABLED: 'false',
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
      },
      stdout: 'ignore',
      stderr: 'pipe',
    })
    try {
      await waitForPort(port, 'custodian serve on the moved database')
      const moved = (path: string, token: string) =>
        fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${token}` } })
      // Session tokens, not keys: a key's first use of the minute records last_used_at, which
      // the /v1 export shows — the two servers would each record their own.
      const now = Math.floor(Date.now() / 1000)
      const sessionOf = (u: TestUser) =>
        new SignJWT({ email: u.user.email, email_verified: true })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(u.user.id)
          .setAudience('authenticated')
          .setIssuedAt(now)
          .setExpirationTime(now + 3600)
          .sign(new TextEncoder().encode(TEST_JWT_SECRET))
      // The instant of the export is the only difference allowed.
      const withoutInstant = (text: string) =>
        text
          .replace(/"(exportedAt|exported_at|generatedAt)":"[^"]*"/g, '"$1":"…"')
          .replace(/"(exportedAt|exported_at)":\d+/g, '"$1":…')
      for (const u of people) {
        const session = await sessionOf(u)
        for (const path of ['/api/account/export', '/v1/account/export']) {
          const before = await t.request('GET', path, { token: session })
          const after = await moved(path, session)
          expect({ path, status: after.status }).toEqual({ path, status: 200 })
          const [a, b] = [await before.text(), await after.text()]
          expect(a.length).toBeGreaterThan(10_000)
          expect(withoutInstant(b)).toBe(withoutInstant(a))
        }
        // Keys minted before the move still authenticate (their hashes moved with them).
        expect((await moved('/api/status', u.apiKey)).status).toBe(200)
      }
      // A hosted page of the deployed site, from the files on disk and the rows in PostgreSQL.
      const slug = (await t.row<{ slug: string }>("SELECT slug FROM apps WHERE app_name = 'Weather Ünïcode'"))
        ?.slug
      const page = await fetch(`http://127.0.0.1:${port}/sites/${slug}/privacy`)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('Weather Ünïcode')
    } finally {
      server.kill('SIGTERM')
      await server.exited
    }
  })

  it('killed mid-way, leaves the target empty, and a second run completes', async () => {
    const url = await emptyDatabase()
    const proc = migrateStore(['--to', url, '--json'])
    // Kill it once its copy transaction is under way (seen from another connection): past the
    // migrations, inserting rows or files, or reading them back to verify.
    const watcher = new SQL(url, { max: 1 })
    try {
      const deadline = Date.now() + 20_000
      let seen = false
      while (!seen && Date.now() < deadline) {
        const [row] = await watcher`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
            AND (query ILIKE 'INSERT INTO "%' OR query ILIKE 'FETCH%' OR query ILIKE 'DECLARE%')
            AND query NOT ILIKE '%drizzle%'`
        seen = row.n > 0
        if (!seen) await Bun.sleep(2)
      }
      expect(seen).toBe(true)
      proc.kill('SIGKILL')
      await proc.exited
      // The server aborts the dead client's transaction; then nothing of it is visible.
      for (let i = 0; i < 500; i++) {
        const [row] = await watcher`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`
        if (row.n === 0) break
        await Bun.sleep(10)
      }
      const [{ users }] = await watcher`SELECT count(*)::int AS users FROM users`
      const [{ files }] = await watcher`SELECT count(*)::int AS files FROM stored_files`
      expect({ users, files }).toEqual({ users: 0, files: 0 })
    } finally {
      await watcher.close()
    }
    const again = await finished(migrateStore(['--to', url, '--json']))
    expect(again.stderr).toBe('')
    expect(again.code).toBe(0)
  })

  it('leaves the SQLite file marked: every later command on it refuses, naming the move’s target', async () => {
    const url = await emptyDatabase()
    expect((await finished(migrateStore(['--to', url, '--json']))).code).toBe(0)
    const env = { ...process.env, DATABASE_PATH: databasePath, STORAGE_DIR: storageDir, LOG_LEVEL: 'silent' }
    for (const args of [
      ['serve'],
      ['user', 'create', '--email', 'late@example.com'],
      ['migrate'],
      ['purge'],
    ]) {
      const run = await runToEnd(['bun', 'src/index.ts', ...args], env, ROOT)
      expect({ args, code: run.code }).toEqual({ args, code: 78 })
      expect(run.stderr).toContain('moved to PostgreSQL')
      expect(run.stderr).toContain(url.split('?')[0] as string)
      expect(run.stderr).toContain('DATABASE_URL')
    }
    const late = sqliteOf(t.store)
      .sqlite.query("SELECT count(*) AS n FROM users WHERE email = 'late@example.com'")
      .get()
    expect(late).toEqual({ n: 0 })
  })

  it('refuses to move a deployment while a server runs on it, naming the server', async () => {
    // A deployment of its own: the suite's source is marked moved by the tests above.
    const served = join(dir, 'served', 'custodian.db')
    const port = await freePort()
    const env = {
      ...process.env,
      DATABASE_PATH: served,
      STORAGE_DIR: join(dir, 'served', 'files'),
      LOG_LEVEL: 'silent',
    }
    const server = Bun.spawn(['bun', 'src/index.ts', 'serve'], {
      cwd: ROOT,
      env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdout: 'ignore',
      stderr: 'ignore',
    })
    try {
      await waitForPort(port, 'custodian serve on the source')
      const run = await finished(migrateStore(['--to', await emptyDatabase(), '--from', served]))
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(`process ${server.pid}`)
      expect(run.stderr).toContain('stop it first')
    } finally {
      server.kill('SIGTERM')
      await server.exited
    }
    // Stopped, it moves.
    expect(
      (await finished(migrateStore(['--to', await emptyDatabase(), '--from', served, '--json']))).code,
    ).toBe(0)
  })

  it('names an unreachable target plainly, without its password', async () => {
    const run = await finished(migrateStore(['--to', 'postgres://mover:s3cr3t-pw@127.0.0.1:1/custodian']))
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('Cannot connect to PostgreSQL at mover@127.0.0.1:1/custodian')
    expect(run.stderr).not.toContain('s3cr3t-pw')
  })

  it('refuses a target that is not PostgreSQL, and a source that does not exist', async () => {
    const notPostgres = await finished(migrateStore(['--to', 'mysql://somewhere/db']))
    expect(notPostgres.code).toBe(1)
    expect(notPostgres.stderr).toContain('--to postgres://')
    const missing = await finished(
      migrateStore(['--to', await emptyDatabase(), '--from', join(dir, 'nope.db')]),
    )
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('does not exist')
    const garbage = join(dir, 'garbage.db')
    await Bun.write(garbage, crypto.getRandomValues(new Uint8Array(8192)))
    const notSqlite = await finished(migrateStore(['--to', await emptyDatabase(), '--from', garbage]))
    expect(notSqlite.code).toBe(1)
    expect(notSqlite.stderr).toContain(`Cannot open ${garbage} as a Custodian database`)
  })
})
