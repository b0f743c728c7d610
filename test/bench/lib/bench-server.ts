// A server process for benchmarks. Modes: `bare` (Bun.serve answering a fixed JSON, the ceiling)
// and `app` (Custodian on a temporary database with one user). Prints `READY {json}`.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exec, one } from '../../../db/query'
import { startBackgroundCheckpoints } from '../../../db/sqlite/checkpointer'
import { readTransaction, writeTransaction } from '../../../db/store'
import { buildDeps, createApp } from '../../../src/app'
import { loadConfig } from '../../../src/config'
import { createUserWithTeam } from '../../../src/services/accounts'
import { emitEvent } from '../../../src/services/events'
import { createKey } from '../../../src/services/keys'
import { createEndpoint } from '../../../src/services/webhook-endpoints'
import { startArchiveWorker } from '../../../src/workers/archives'
import { startWebhookWorker } from '../../../src/workers/webhooks'
import { VALID_PAGES } from '../../support/page-fixtures'
import { seedFullAccount } from '../../support/seed'
import { sqliteOf } from '../../support/test-database'

const mode = process.argv[2]
if (process.env.BENCH_PROFILE) process.on('SIGTERM', () => process.exit(0))
const status = () => require('node:fs').readFileSync('/proc/self/status', 'utf8') as string
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(status())?.[1] ?? 0) / 1024
const peak = () => Number(/VmHWM:\s+(\d+)/.exec(status())?.[1] ?? 0) / 1024
const STATUS_JSON = {
  subscription: 'none',
  planType: null,
  appCount: 0,
  hasPaymentMethod: false,
  hasApps: false,
}

/**
 * Custodian on a fresh temporary database and storage directory: how every app mode starts, with
 * WAL checkpoints on their own thread as `serve` runs them.
 */
async function benchApp(
  env: Record<string, string> = {},
  options: { idempotency?: boolean; sqlite?: boolean } = {},
  logger?: import('../../../src/lib/logger').Logger,
) {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-bench-'))
  // BENCH_STORE=postgres: the same server on a throwaway PostgreSQL cluster of its own (stopped
  // when this process gets SIGTERM: server-process.ts sends it then).
  const postgres = process.env.BENCH_STORE === 'postgres' && !options.sqlite ? await benchPostgres() : null
  const config = loadConfig({
    ...process.env,
    DATABASE_PATH: join(dir, 'bench.db'),
    STORAGE_DIR: join(dir, 'files'),
    PORT: '0',
    ...(postgres ? { DATABASE_URL: postgres.url, INSTANCES: '1' } : {}),
    ...env,
  })
  const deps = buildDeps({ config, logger, ...(postgres ? { store: postgres.store } : {}) })
  if (postgres) return { dir, config, deps, app: createApp(deps, options) }
  // The erasure benchmark compares secure_delete modes; the product always runs ON (db/sqlite/store.ts).
  if (process.env.BENCH_SECURE_DELETE)
    sqliteOf(deps.store).sqlite.exec(
      `PRAGMA secure_delete = ${process.env.BENCH_SECURE_DELETE === 'FAST' ? 'FAST' : process.env.BENCH_SECURE_DELETE === 'OFF' ? 'OFF' : 'ON'}`,
    )
  // BENCH_CHECKPOINTS=inline: SQLite's auto-checkpoint in the committing request, for comparison.
  if (process.env.BENCH_CHECKPOINTS !== 'inline')
    await startBackgroundCheckpoints(sqliteOf(deps.store), (message, fields) =>
      console.error(message, fields),
    )
  return { dir, config, deps, app: createApp(deps, options) }
}

/**
 * A throwaway PostgreSQL cluster and a migrated store on it (BENCH_STORE=postgres); or, with
 * BENCH_DATABASE_URL, a store on another benchmark server's database (one more instance).
 */
async function benchPostgres() {
  const poolSize = Number(process.env.DATABASE_POOL_SIZE ?? 10)
  const { startPostgres } = await import('../../support/postgres')
  const { createPgStore } = await import('../../../db/pg/store')
  const shared = process.env.BENCH_DATABASE_URL
  if (shared) {
    const store = createPgStore(shared, { max: poolSize })
    await store.ready
    return { url: shared, store }
  }
  const cluster = await startPostgres()
  process.on('SIGTERM', () => {
    cluster.stop()
    process.exit(0)
  })
  await cluster.sql`CREATE DATABASE bench`
  const url = `postgres://custodian@localhost/bench?host=${cluster.socketPath.replace(/\/\.s\.PGSQL\.\d+$/, '')}`
  const store = createPgStore(url, { max: poolSize })
  await store.ready
  return { url, store }
}

/** Puts the team on a quota tier that never refuses (benchmarks measure the server, not quotas). */
async function unlimitedQuotas(deps: ReturnType<typeof buildDeps>, teamId: string) {
  const { quotaTiers, teams } = await import('../../../db/tables')
  const { eq } = await import('drizzle-orm')
  await writeTransaction(deps.store, async (tx) => {
    await exec(
      tx
        .insert(quotaTiers)
        .values({
          id: 'bench-unlimited',
          displayName: 'Bench',
          dailySandboxCreates: 1e9,
          maxConcurrentSandboxes: 1e9,
          dailyGbHours: 1e12,
        })
        .onConflictDoNothing(),
    )
    await exec(tx.update(teams).set({ quotaTierId: 'bench-unlimited' }).where(eq(teams.id, teamId)))
  })
}

/** A verified user with a personal team, and a minter of its keys (no key-count limit). */
async function benchUser(deps: ReturnType<typeof buildDeps>, email: string) {
  const { user, team } = await writeTransaction(deps.store, (tx) =>
    createUserWithTeam(tx, deps.clock, { email, emailVerified: true }),
  )
  const key = async (kind: 'orbit' | 'runtime') =>
    (
      await createKey(deps.store, deps.clock, {
        userId: user.id,
        teamId: team.id,
        kind,
        name: 'bench',
        scope: kind === 'runtime' ? 'sandboxes' : null,
        enforceLimit: false,
      })
    ).plaintext
  return { user, team, key }
}

if (mode === 'body-read') {
  // Reading a small JSON body from the network two ways: through its ReadableStream (what the
  // body guard does for a chunked body) and with Body.bytes() (what it does for a declared length).
  const byStream = process.argv[3] === 'stream'
  const { readWithin } = await import('../../../src/plugins/body-guard')
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    reusePort: false,
    async fetch(request) {
      const bytes = byStream ? await readWithin(request, 1 << 20) : await request.bytes()
      return Response.json({ bytes: bytes.byteLength })
    },
  })
  console.log(`READY ${JSON.stringify({ url: `http://127.0.0.1:${server.port}` })}`)
} else if (mode === 'bare') {
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    reusePort: false,
    fetch: () => Response.json(STATUS_JSON),
  })
  console.log(`READY ${JSON.stringify({ url: `http://127.0.0.1:${server.port}` })}`)
} else if (mode === 'floor') {
  // The honest floor: Elysia, SHA-256 of the bearer and one lookup of the key — a prepared
  // bun:sqlite statement (WAL) or, with BENCH_STORE=postgres, one Bun SQL query on a pool of 10 —
  // on a database Custodian made: the least work that could answer GET /api/status.
  const onPostgres = process.env.BENCH_STORE === 'postgres'
  const { dir, deps, config } = await benchApp({}, { sqlite: !onPostgres })
  const { key } = await benchUser(deps, 'floor@example.com')
  type KeyRow = { key_hash: string; revoked_at: number | null }
  let lookup: (digest: string) => KeyRow | null | Promise<KeyRow | undefined>
  if (onPostgres) {
    const sql = new Bun.SQL({ url: config.databaseUrl as string, max: 10 })
    lookup = async (digest) =>
      (
        (await sql`SELECT key_hash, user_id, revoked_at FROM api_keys WHERE key_hash = ${digest}`) as KeyRow[]
      )[0]
  } else {
    const statement = sqliteOf(deps.store).sqlite.prepare<KeyRow, [string]>(
      'SELECT key_hash, user_id, revoked_at FROM api_keys WHERE key_hash = ?',
    )
    lookup = (digest) => statement.get(digest)
  }
  const { Elysia } = await import('elysia')
  const { digestsEqual, sha256Hex } = await import('../../../src/lib/crypto')
  const answer = (row: KeyRow | null | undefined, digest: string, set: { status?: number | string }) => {
    if (!row || row.revoked_at !== null || !digestsEqual(row.key_hash, digest)) {
      set.status = 401
      return { error: 'unauthorized' }
    }
    return STATUS_JSON
  }
  const floor = new Elysia().get('/api/status', ({ request, set }) => {
    const token = (request.headers.get('authorization') ?? '').slice(7)
    const digest = sha256Hex(token)
    const row = lookup(digest)
    return row instanceof Promise ? row.then((r) => answer(r, digest, set)) : answer(row, digest, set)
  })
  floor.listen({ port: 0, hostname: '127.0.0.1', reusePort: false })
  console.log(
    `READY ${JSON.stringify({ url: `http://127.0.0.1:${floor.server?.port}`, apiKey: await key('orbit'), dir, databasePath: config.databasePath, databaseUrl: onPostgres ? config.databaseUrl : null, statusJson: STATUS_JSON })}`,
  )
} else if (mode === 'app') {
  // Custodian as it ships: rate limits on (a policy that admits), request logs at the default
  // level — written where BENCH_LOG_FILE says, as an operator would redirect stdout.
  const { openSync } = await import('node:fs')
  const { createLogger } = await import('../../../src/lib/logger')
  const { bufferedWriter } = await import('../../../src/lib/write-all')
  const logFile = process.env.BENCH_LOG_FILE
  const { dir, deps, app } = await benchApp(
    process.env.DATABASE_PATH ? { DATABASE_PATH: process.env.DATABASE_PATH } : {},
    { idempotency: process.env.BENCH_IDEMPOTENCY !== 'off' },
    logFile ? createLogger('info', bufferedWriter(openSync(logFile, 'a')).write) : undefined,
  )
  const { user, key } = await benchUser(deps, 'bench@example.com')
  app.listen({ port: 0, hostname: '127.0.0.1', reusePort: false })
  console.log(
    `READY ${JSON.stringify({ url: `http://127.0.0.1:${app.server?.port}`, apiKey: await key('orbit'), runtimeKey: await key('runtime'), userId: user.id, dir })}`,
  )
} else if (mode === 'heavy') {
  // The heavy account of the export and erasure benchmarks, plus light neighbours to read.
  const { config, deps, app } = await benchApp({ RATE_LIMIT_ENABLED: 'false' })
  const make = async (email: string) => {
    const { user, team, key } = await benchUser(deps, email)
    return { user, team, apiKey: await key('orbit') }
  }
  const heavy = await make('heavy@example.com')
  const appNames = Array.from({ length: 10 }, (_, i) => `Heavy App ${i + 1}`)
  const seeded = await seedFullAccount(deps, heavy, {
    appNames,
    sandboxes: Number(process.env.BENCH_HEAVY_SANDBOXES ?? 100_000),
    usageDays: 365,
    extraKeys: 96,
  })
  const neighbours = []
  for (let i = 0; i < 20; i++) neighbours.push(await make(`neighbour${i}@example.com`))
  for (const n of neighbours) await seedFullAccount(deps, n, { sandboxes: 50 })
  if (deps.store.dialect === 'sqlite') sqliteOf(deps.store).sqlite.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  // BENCH_ARCHIVES=on: the export-archive builder `serve` runs.
  if (process.env.BENCH_ARCHIVES === 'on') startArchiveWorker(deps)
  app.listen({ port: 0, hostname: '127.0.0.1', reusePort: false })
  Bun.gc(true)
  console.log(
    `READY ${JSON.stringify({
      url: `http://127.0.0.1:${app.server?.port}`,
      apiKey: heavy.apiKey,
      userId: heavy.user.id,
      databasePath: config.databasePath,
      rows: Object.fromEntries(Object.entries(seeded.ids).map(([k, v]) => [k, v.length])),
      neighbourKeys: neighbours.map((n) => n.apiKey),
    })}`,
  )
} else if (mode === 'hosted') {
  // An app with every page configured, deployed; the deploy itself is timed here.
  const { config, deps, app } = await benchApp({ RATE_LIMIT_ENABLED: 'false' })
  const key = await (await benchUser(deps, 'hosted@example.com')).key('orbit')
  const call = (method: string, path: string, body?: unknown) =>
    app.handle(
      new Request(`http://localhost${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    )
  const { appId, slug } = (await (await call('POST', '/api/apps', { appName: 'Hosted App' })).json()) as {
    appId: string
    slug: string
  }
  for (const [page, body] of Object.entries(VALID_PAGES))
    await call('PUT', `/api/apps/${appId}/${page}`, body)
  const timings: number[] = []
  for (let i = 0; i < 20; i++) {
    await call('PUT', `/api/apps/${appId}/policy`, {
      ...VALID_PAGES.policy,
      'third-party': { third_party_list: `revision ${i}` },
    })
    const started = performance.now()
    const r = await call('POST', `/api/apps/${appId}/deploy`)
    timings.push(performance.now() - started)
    if (r.status !== 200) throw new Error(`deploy answered ${r.status}`)
  }
  const noop = performance.now()
  await call('POST', `/api/apps/${appId}/deploy`)
  const noopMs = performance.now() - noop
  const { sites } = await import('../../../db/tables')
  const { eq } = await import('drizzle-orm')
  const site = (await readTransaction(deps.store, (tx) =>
    one(tx.select({ v: sites.publishedVersion }).from(sites).where(eq(sites.appId, appId))),
  )) as { v: string }
  // The bare server's copy of the page: on PostgreSQL the file is a row, so it is written out.
  const { versionDir } = await import('../../../src/services/deploy')
  const stored = `${versionDir(deps.storage, appId, site.v)}/privacy.html`
  let privacyFile = join(config.storageDir, 'apps', appId, 'versions', site.v, 'privacy.html')
  if (deps.store.sharedFiles) {
    privacyFile = join(config.storageDir, 'bare-privacy.html')
    await Bun.write(privacyFile, (await deps.storage.read(stored)) as Uint8Array)
  }
  app.listen({ port: 0, hostname: '127.0.0.1', reusePort: false })
  timings.sort((a, b) => a - b)
  console.log(
    `READY ${JSON.stringify({
      url: `http://127.0.0.1:${app.server?.port}`,
      privacyPath: `/sites/${slug}/privacy`,
      privacyFile,
      deployMs: { first: timings[0], median: timings[10], max: timings.at(-1), noop: noopMs },
    })}`,
  )
} else if (mode === 'static') {
  // The floor for hosting: a bare Bun.serve answering the same file.
  const file = process.argv[3] as string
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    reusePort: false,
    fetch: () => new Response(Bun.file(file), { headers: { 'content-type': 'text/html; charset=utf-8' } }),
  })
  console.log(`READY ${JSON.stringify({ url: `http://127.0.0.1:${server.port}` })}`)
} else if (mode === 'export-floor') {
  // The floor: the same rows, one SELECT per table, JSON.stringify-ed into one buffer.
  const [databasePath, userId] = process.argv.slice(3) as [string, string]
  const { Database } = await import('bun:sqlite')
  const { OWNED_TABLES, ownerWhere } = await import('../../../db/ownership')
  const db = new Database(databasePath, { readonly: true })
  Bun.gc(true)
  const before = rss()
  require('node:fs').writeFileSync('/proc/self/clear_refs', '5')
  const start = performance.now()
  const document: Record<string, unknown> = {}
  for (const table of OWNED_TABLES)
    document[table.name] = db.query(`SELECT * FROM ${table.name} WHERE ${ownerWhere(table)}`).all(userId)
  const buffer = Buffer.from(JSON.stringify(document))
  const ms = performance.now() - start
  console.log(`READY ${JSON.stringify({ ms, bytes: buffer.length, rssGrowthMiB: peak() - before })}`)
} else if (mode === 'load') {
  // The mixed-load run: `argv[3]` users, each with an /api key, a runtime key and an app, on a
  // tier that never refuses (the load measures the server, not the quotas).
  const count = Number(process.argv[3] ?? 200)
  const { config, deps, app } = await benchApp()
  const users = []
  for (let i = 0; i < count; i++) {
    const { user, team, key } = await benchUser(deps, `load${i}@example.com`)
    await unlimitedQuotas(deps, team.id)
    const apiKey = await key('orbit')
    const created = await app.handle(
      new Request('http://localhost/api/apps', {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ appName: `Load App ${i}` }),
      }),
    )
    const { appId } = (await created.json()) as { appId: string }
    users.push({ userId: user.id, email: user.email, apiKey, runtimeKey: await key('runtime'), appId })
  }
  app.listen({ port: 0, hostname: '127.0.0.1', reusePort: false })
  console.log(
    `READY ${JSON.stringify({ url: `http://127.0.0.1:${app.server?.port}`, users, databasePath: config.databasePath })}`,
  )
} else if (mode === 'sandboxes') {
  // One user on a tier that never refuses, with `argv[3]` sandboxes already recorded: mostly
  // destroyed, 1% paused and 1% running, one `job` metadata value each.
  const seeded = Number(process.argv[3] ?? 0)
  const { config, deps, app } = await benchApp({
    RATE_LIMIT_ENABLED: 'false',
    WEBHOOKS_ALLOW_HTTP: 'true',
    WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
  })
  // BENCH_WEBHOOK_URL: an endpoint subscribed to every event (what the outbox costs a create).
  if (process.env.BENCH_WEBHOOK_URL)
    await createEndpoint(deps, { url: process.env.BENCH_WEBHOOK_URL, events: ['*'] })
  const { user, team, key } = await benchUser(deps, 'sandboxes@example.com')
  const runtime = await key('runtime')
  await unlimitedQuotas(deps, team.id)
  // 31 more teams, for creates spread over 32 teams (each team's quota is its own row lock).
  const teamKeys = [runtime]
  for (let n = 1; n < 32; n++) {
    const other = await benchUser(deps, `sandboxes-${n}@example.com`)
    await unlimitedQuotas(deps, other.team.id)
    teamKeys.push(await other.key('runtime'))
  }
  const { sandboxes } = await import('../../../db/tables')
  const { encodePageToken } = await import('../../../src/lib/page-token')
  const seedStart = deps.clock.now() - seeded
  await writeTransaction(deps.store, async (tx) => {
    const now = seedStart
    const rows = []
    for (let i = 0; i < seeded; i++) {
      const status = i % 100 === 0 ? 'running' : i % 100 === 1 ? 'paused' : 'destroyed'
      rows.push({
        id: `sb_bench${String(i).padStart(12, '0')}`,
        teamId: team.id,
        userId: user.id,
        template: i % 2 ? 'base' : 'python',
        status: status as 'running' | 'paused' | 'destroyed',
        vcpus: 1,
        memoryMb: 256,
        metadata: { job: `j-${i}` },
        createdAt: now + i,
        updatedAt: now + i,
        startedAt: now + i,
        destroyedAt: status === 'destroyed' ? now + i + 1 : null,
        chargedUntil: now + i,
      })
    }
    for (let i = 0; i < rows.length; i += 500) await exec(tx.insert(sandboxes).values(rows.slice(i, i + 500)))
  })
  // A cursor halfway down the list, to time a deep page.
  const half = Math.floor(seeded / 2)
  const middle = seeded ? { at: seedStart + half, id: `sb_bench${String(half).padStart(12, '0')}` } : null
  if (deps.store.dialect === 'sqlite') sqliteOf(deps.store).sqlite.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  app.listen({ port: 0, hostname: '127.0.0.1', reusePort: false })
  console.log(
    `READY ${JSON.stringify({
      url: `http://127.0.0.1:${app.server?.port}`,
      runtimeKey: runtime,
      teamKeys,
      middleToken: middle ? encodePageToken(middle) : null,
      databasePath: config.databasePath,
      databaseUrl: config.databaseUrl,
    })}`,
  )
} else if (mode === 'webhooks') {
  // Custodian with its delivery worker, an endpoint at BENCH_WEBHOOK_URL subscribed to every
  // event (none without it), `argv[3]` events already in the outbox over 1,000 accounts, and 200
  // users whose profile changes each announce account.updated.
  const seeded = Number(process.argv[3] ?? 0)
  const { deps, app } = await benchApp({
    RATE_LIMIT_ENABLED: 'false',
    WEBHOOKS_ALLOW_HTTP: 'true',
    WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
  })
  const receiver = process.env.BENCH_WEBHOOK_URL
  if (receiver) await createEndpoint(deps, { url: receiver, events: ['*'] })
  const users = []
  for (let n = 0; n < 200; n++) users.push((await benchUser(deps, `hooks-${n}@example.com`)).user.id)
  for (let done = 0; done < seeded; done += 1000)
    await writeTransaction(deps.store, async (tx) => {
      for (let i = done; i < Math.min(seeded, done + 1000); i++)
        await emitEvent(tx, deps.clock, 'account.updated', `seeded-${i % 1000}`, {
          user_id: `seeded-${i % 1000}`,
          changed: ['display_name'],
        })
    })
  // BENCH_WEBHOOK_WORKER=off: events pile up in the outbox (what writing them costs, alone).
  if (process.env.BENCH_WEBHOOK_WORKER !== 'off') {
    const worker = startWebhookWorker(deps)
    process.on('SIGTERM', () => void worker.stop().finally(() => process.exit(0)))
  }
  app.listen({ port: 0, hostname: '127.0.0.1', reusePort: false })
  console.log(`READY ${JSON.stringify({ url: `http://127.0.0.1:${app.server?.port}`, users })}`)
} else if (mode === 'instance') {
  // One more instance on a benchmark server's PostgreSQL database (BENCH_DATABASE_URL): serves only.
  const { app } = await benchApp({ RATE_LIMIT_ENABLED: 'false' })
  app.listen({ port: 0, hostname: '127.0.0.1', reusePort: false })
  console.log(`READY ${JSON.stringify({ url: `http://127.0.0.1:${app.server?.port}` })}`)
} else {
  console.error(`unknown mode ${mode}`)
  process.exit(2)
}
