import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SQL, type Subprocess } from 'bun'
import { freePort, runToEnd, SOURCE_CLI, waitForPort } from '../support/binary'
import { pngBytes } from '../support/images'
import { hasPostgres, type PostgresCluster, postgresTool, startPostgres } from '../support/postgres'
import { type RedisProcess, startRedis } from '../support/redis'
import { ONE_PASS, onPostgres } from '../support/test-database'

// Three `custodian serve` processes on one PostgreSQL database and one Redis, each with a storage
// directory of its own (so that whatever they share, they share through the database): what the
// docs/postgresql.md's "Several instances" promises, checked from outside. It starts its own cluster, so it is
// registered in one pass only (the default one; the PostgreSQL pass runs the rest of the suite).

interface Instance {
  name: string
  base: string
  process: Subprocess
}

// Skipped only where PostgreSQL or Redis is not installed: inside the image build (.ci/run
// installs both, so CI runs it).
const register = onPostgres
  ? (name: string, fn: () => void) => describe.skip(`${name}${ONE_PASS}`, fn)
  : describe.skipIf(!hasPostgres() || !Bun.which('redis-server'))
register('several instances on one PostgreSQL and one Redis', () => {
  let cluster: PostgresCluster
  let redis: RedisProcess
  let url: string
  let dir: string
  let db: SQL
  const instances: Instance[] = []
  /** Every server process started, so that none outlives the file even when a start fails. */
  const spawned: Subprocess[] = []

  const env = (name: string, extra: Record<string, string> = {}) => ({
    ...process.env,
    DATABASE_URL: url,
    REDIS_URL: redis.url,
    INSTANCES: '3',
    STORAGE_DIR: join(dir, name, 'files'),
    // No SQLite file on PostgreSQL; its directory holds this instance's erasure ledger.
    DATABASE_PATH: join(dir, name, 'custodian.db'),
    PUBLIC_URL: 'http://custodian.test',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_DEFAULT: '100000/60',
    RATE_LIMIT_APPS_CREATE: '4/3600',
    DELETION_LEASE_SECONDS: '1',
    WORKER_INTERVAL_SECONDS: '1',
    AUTH_JWT_SECRET: 'several-instances-test-secret',
    ...extra,
  })

  const cli = async (args: string[]) => {
    const { code, stdout, stderr } = await runToEnd([...SOURCE_CLI, ...args], env('cli'), dir)
    if (code !== 0) throw new Error(`custodian ${args.join(' ')}: ${stderr}`)
    return JSON.parse(stdout)
  }

  const start = async (name: string): Promise<Instance> => {
    const port = await freePort()
    const proc = Bun.spawn([...SOURCE_CLI, 'serve'], {
      cwd: dir,
      env: env(name, { PORT: String(port), HOST: '127.0.0.1' }),
      stdout: 'ignore',
      stderr: 'inherit',
    })
    spawned.push(proc)
    await waitForPort(port, `instance ${name}`, 20_000)
    return { name, base: `http://127.0.0.1:${port}`, process: proc }
  }

  /** A user with an /api key and a /v1 runtime key, made by the CLI. */
  const newUser = async (email: string) => {
    const { userId, apiKey } = await cli(['user', 'create', '--email', email, '--json'])
    const { key: runtimeKey } = await cli(['key', 'create', '--email', email, '--kind', 'runtime', '--json'])
    const [{ team_id: teamId }] = await db`SELECT team_id FROM api_keys WHERE user_id = ${userId} LIMIT 1`
    return { userId: userId as string, apiKey: apiKey as string, runtimeKey: runtimeKey as string, teamId }
  }

  const call = (i: Instance, method: string, path: string, token: string, body?: unknown, headers = {}) =>
    fetch(`${i.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })

  beforeAll(async () => {
    cluster = await startPostgres()
    await cluster.sql`CREATE DATABASE several`
    url = `postgres://custodian@localhost/several?host=${cluster.socketPath.replace(/\/\.s\.PGSQL\.\d+$/, '')}`
    redis = (await startRedis()) as RedisProcess
    dir = mkdtempSync(join(tmpdir(), 'custodian-several-'))
    // Started together on an empty database: one applies the migrations, the others wait for it.
    instances.push(...(await Promise.all([start('a'), start('b'), start('c')])))
    db = new SQL({ url, max: 2 })
  }, 60_000)

  afterAll(async () => {
    for (const p of spawned) p.kill('SIGKILL')
    await Promise.all(spawned.map((p) => p.exited))
    await db?.close()
    await redis?.stop()
    cluster?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('never lets 96 clients creating sandboxes through all three exceed the quota', async () => {
    const u = await newUser('quota@example.com')
    await db`INSERT INTO quota_tiers (id, display_name, daily_sandbox_creates, max_concurrent_sandboxes, daily_gb_hours)
      VALUES ('several', 'several', 1000, 25, 1000000)`
    await db`UPDATE teams SET quota_tier_id = 'several' WHERE id = ${u.teamId}`
    await db`UPDATE users SET quota_tier_id = 'several', tier = 'several' WHERE id = ${u.userId}`
    const statuses = await Promise.all(
      Array.from({ length: 96 }, async (_, client) => {
        const seen: number[] = []
        for (let n = 0; n < 3; n++) {
          const r = await call(
            instances[(client + n) % 3] as Instance,
            'POST',
            '/v1/sandboxes',
            u.runtimeKey,
            {},
            {
              'idempotency-key': `q-${client}-${n}`,
            },
          )
          seen.push(r.status)
          await r.arrayBuffer()
        }
        return seen
      }),
    )
    const all = statuses.flat()
    expect(all.filter((s) => s === 201)).toHaveLength(25)
    expect(all.filter((s) => s !== 201 && s !== 429)).toEqual([])
    const [{ n }] = await db`SELECT count(*)::int AS n FROM sandboxes WHERE team_id = ${u.teamId}`
    expect(n).toBe(25)
    const [totals] = await db`SELECT active FROM team_sandbox_totals WHERE team_id = ${u.teamId}`
    expect(Number(totals.active)).toBe(25)
  }, 60_000)

  it('executes one Idempotency-Key sent by 96 clients through the three at once once', async () => {
    const u = await newUser('idem@example.com')
    for (let round = 0; round < 5; round++) {
      const headers = { 'idempotency-key': `same-${round}` }
      const answers = await Promise.all(
        Array.from({ length: 96 }, (_, client) =>
          call(
            instances[client % 3] as Instance,
            'POST',
            '/v1/sandboxes',
            u.runtimeKey,
            { metadata: { round: String(round) } },
            headers,
          ),
        ),
      )
      const bodies = (await Promise.all(answers.map((r) => r.json()))) as { id?: string }[]
      const created = answers.map((r, k) => ({ status: r.status, id: bodies[k]?.id }))
      // One executed it; the other replays its answer, or is told it is still in flight.
      expect(created.filter((c) => c.status === 201).length).toBeGreaterThanOrEqual(1)
      for (const c of created) expect([201, 409]).toContain(c.status as number)
      const ids = new Set(created.filter((c) => c.status === 201).map((c) => c.id))
      expect(ids.size).toBe(1)
    }
    const [{ n }] = await db`SELECT count(*)::int AS n FROM sandboxes WHERE team_id = ${u.teamId}`
    expect(n).toBe(5)
  }, 60_000)

  it('shares a rate limit: 4 app creates an hour in all, whichever instance is asked', async () => {
    const u = await newUser('limit@example.com')
    const statuses: number[] = []
    for (let n = 0; n < 9; n++) {
      const r = await call(instances[n % 3] as Instance, 'POST', '/api/apps', u.apiKey, {
        appName: `Limited ${n}`,
      })
      statuses.push(r.status)
      await r.arrayBuffer()
    }
    expect(statuses.filter((s) => s === 201)).toHaveLength(4)
    expect(statuses.filter((s) => s === 429)).toHaveLength(5)
  })

  it('serves a deploy made through A from B and C, and an icon stored through A', async () => {
    const u = await newUser('deploy@example.com')
    const [a, b, c] = instances as [Instance, Instance, Instance]
    const app = (await (await call(a, 'POST', '/api/apps', u.apiKey, { appName: 'Shared Site' })).json()) as {
      appId: string
      slug: string
    }
    await (
      await call(a, 'PUT', `/api/apps/${app.appId}/policy`, u.apiKey, {
        'app-info': { app_name: 'Shared Site' },
      })
    ).arrayBuffer()
    const deployed = await call(a, 'POST', `/api/apps/${app.appId}/deploy`, u.apiKey)
    expect(deployed.status).toBe(200)
    await deployed.arrayBuffer()
    const pages = await Promise.all(
      [a, b, c].map(async (i) => {
        const r = await fetch(`${i.base}/sites/${app.slug}/privacy`)
        return { status: r.status, body: await r.text() }
      }),
    )
    for (const p of pages) {
      expect(p.status).toBe(200)
      expect(p.body).toBe(pages[0]?.body as string)
    }
    expect(pages[0]?.body).toContain('Shared Site')
    // An icon stored through A is served by C at the URL A answered.
    const icon = await fetch(`${a.base}/api/apps/${app.appId}/site/icon`, {
      method: 'POST',
      headers: { authorization: `Bearer ${u.apiKey}`, 'content-type': 'image/png' },
      body: await pngBytes(),
    })
    expect(icon.status).toBe(200)
    const { iconUrl } = (await icon.json()) as { iconUrl: string }
    const served = await fetch(iconUrl.replace('http://custodian.test', c.base))
    expect(served.status).toBe(200)
    expect(served.headers.get('content-type')).toBe('image/png')
    expect((await served.bytes()).subarray(1, 4)).toEqual(new TextEncoder().encode('PNG'))
    // Nothing of it is on B's or C's disk: they read it from the database.
    for (const name of ['b', 'c'])
      expect(await Bun.file(join(dir, name, 'files', 'apps')).exists()).toBe(false)
  }, 60_000)

  it('answers an export from B while A writes as one consistent snapshot', async () => {
    const u = await newUser('export@example.com')
    const { token: session } = await cli(['token', '--email', 'export@example.com', '--json'])
    const [a, b] = instances as [Instance, Instance]
    let writing = true
    const writer = (async () => {
      let n = 0
      while (writing) {
        const r = await call(
          a,
          'POST',
          '/v1/sandboxes',
          u.runtimeKey,
          { metadata: { n: String(n) } },
          {
            'idempotency-key': `w-${n++}`,
          },
        )
        await r.arrayBuffer()
      }
      return n
    })()
    const seen = new Set<number>()
    try {
      for (let round = 0; round < 5; round++) {
        const r = await call(b, 'GET', '/v1/account/export', session)
        expect(r.status).toBe(200)
        const exported = (await r.json()) as {
          sandboxes: { id: string }[]
          quota_usage?: unknown
          [k: string]: unknown
        }
        // The sandboxes and the team's counters come from one instant: each create adds a row and
        // raises the day's count in one transaction, so the two agree in a consistent snapshot.
        const creates = JSON.stringify(exported).match(/"sandbox_creates":(\d+)/)
        expect(exported.sandboxes.length).toBe(creates ? Number(creates[1]) : 0)
        seen.add(exported.sandboxes.length)
      }
    } finally {
      writing = false
      expect(await writer).toBeGreaterThan(0)
    }
    // The exports did overlap the writes: they saw different numbers of sandboxes.
    expect(seen.size).toBeGreaterThan(1)
  }, 60_000)

  it('shares the erasure ledger: every instance holds every erasure, so a restore forgets it again without the eraser', async () => {
    // A database of its own (a pg_restore must not disturb the other tests) and two instances.
    await cluster.sql`CREATE DATABASE ledgers`
    const ledgersUrl = url.replace('/several?', '/ledgers?')
    // Workers an hour apart: Y can only learn of X's erasure by its announcement (NOTIFY).
    const own = { DATABASE_URL: ledgersUrl, INSTANCES: '2', WORKER_INTERVAL_SECONDS: '3600' }
    const startOn = async (name: string) => {
      const port = await freePort()
      const proc = Bun.spawn([...SOURCE_CLI, 'serve'], {
        cwd: dir,
        env: env(name, { ...own, PORT: String(port), HOST: '127.0.0.1' }),
        stdout: 'ignore',
        stderr: 'inherit',
      })
      spawned.push(proc)
      await waitForPort(port, `instance ${name}`, 20_000)
      return { name, base: `http://127.0.0.1:${port}`, process: proc }
    }
    const x = await startOn('x')
    const y = await startOn('y')
    const created = await runToEnd(
      [...SOURCE_CLI, 'user', 'create', '--email', 'ledger@example.com', '--json'],
      env('ledger-cli', own),
      dir,
    )
    const { apiKey, userId } = JSON.parse(created.stdout) as { apiKey: string; userId: string }
    const dump = join(dir, 'ledgers-before-erasure.dump')
    const pg = (tool: string, args: string[]) => postgresTool(cluster, tool, args)
    expect((await pg('pg_dump', ['-Fc', '-f', dump, 'ledgers'])).code).toBe(0)

    // Erased through X: Y (which did nothing) has the entry in its own ledger at once.
    expect((await call(x, 'DELETE', '/api/account', apiKey)).status).toBe(204)
    const ledgers = new SQL({ url: ledgersUrl, max: 1 })
    try {
      const [{ id: deletionId }] = await ledgers`SELECT id FROM account_deletions WHERE step = 'done'`
      const yLedger = join(dir, 'y', 'erasure-ledger.jsonl')
      const deadline = Date.now() + 10_000
      const inY = () => existsSync(yLedger) && readFileSync(yLedger, 'utf8').includes(deletionId)
      while (!inY() && Date.now() < deadline) await Bun.sleep(50)
      expect(inY()).toBe(true)

      // X's volume is lost; the operator restores the dump taken before the erasure.
      for (const i of [x, y]) {
        i.process.kill('SIGTERM')
        await i.process.exited
      }
      rmSync(join(dir, 'x'), { recursive: true, force: true })
      const restore = await pg('pg_restore', ['--clean', '--if-exists', '-d', 'ledgers', dump])
      expect(restore.stderr).toBe('')
      const usersNamed = async () =>
        (await ledgers`SELECT count(*)::int AS n FROM users WHERE id = ${userId}`)[0].n
      expect(await usersNamed()).toBe(1)
      // Y alone, started on the restored database, erases the account again before it serves.
      const again = await startOn('y')
      expect(await usersNamed()).toBe(0)
      expect((await call(again, 'GET', '/api/status', apiKey)).status).toBe(401)
      again.process.kill('SIGTERM')
      await again.process.exited
    } finally {
      await ledgers.close()
    }
  }, 90_000)

  it('finishes on B a deletion started on A after A is killed -9 mid-erasure, leaving nothing', async () => {
    const u = await newUser('victim@example.com')
    // Enough rows that the erasure takes seconds: destroyed sandboxes (no running totals).
    await db`INSERT INTO sandboxes (id, team_id, user_id, template, status, vcpus, memory_mb, destroyed_at, created_at, updated_at)
      SELECT 'victim-' || g, ${u.teamId}, ${u.userId}, 'base', 'destroyed', 1, 512, 1, g, g
      FROM generate_series(1, 200000) AS g`
    const [a, b] = instances as [Instance, Instance]
    const deleting = call(a, 'DELETE', '/api/account', u.apiKey).catch(() => null)
    // Wait until the erasure is under way (rows going), then kill A without warning.
    const deadline = Date.now() + 20_000
    for (;;) {
      const [{ n }] = await db`SELECT count(*)::int AS n FROM sandboxes WHERE team_id = ${u.teamId}`
      if (n < 200_000 && n > 0) break
      if (Date.now() > deadline)
        throw new Error(`the erasure did not start (or ended) before the kill: ${n} rows`)
      await Bun.sleep(10)
    }
    a.process.kill('SIGKILL')
    await a.process.exited
    await deleting
    const [{ n: left }] = await db`SELECT count(*)::int AS n FROM sandboxes WHERE team_id = ${u.teamId}`
    expect(left).toBeGreaterThan(0)
    // The credentials are refused by the instances still running, at once.
    expect((await call(b, 'GET', '/api/status', u.apiKey)).status).toBe(401)
    // B's (or C's) worker takes the job over once A's lease runs out, and finishes it.
    const finishBy = Date.now() + 40_000
    for (;;) {
      const [job] =
        await db`SELECT step FROM account_deletions WHERE user_hash IS NOT NULL ORDER BY requested_at DESC LIMIT 1`
      if (job?.step === 'done') break
      if (Date.now() > finishBy) throw new Error(`the deletion was not finished: ${job?.step}`)
      await Bun.sleep(100)
    }
    for (const table of ['sandboxes', 'api_keys', 'team_sandbox_totals', 'quota_usage'])
      expect(
        (await db.unsafe(`SELECT count(*)::int AS n FROM ${table} WHERE team_id = $1`, [u.teamId]))[0].n,
      ).toBe(0)
    expect((await db`SELECT count(*)::int AS n FROM users WHERE id = ${u.userId}`)[0].n).toBe(0)
    expect((await db`SELECT count(*)::int AS n FROM teams WHERE id = ${u.teamId}`)[0].n).toBe(0)
    // Restart A for whatever runs after.
    instances[0] = await start('a')
  }, 90_000)
})
