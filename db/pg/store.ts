import { SQL } from 'bun'
import { drizzle } from 'drizzle-orm/bun-sql'
import { BunSQLSession, BunSQLTransaction } from 'drizzle-orm/bun-sql/session'
import { sqlStateOf } from '../errors'
import { ERASURE_TOUCHED_TABLES } from '../ownership'
import type { Orm, Store, TransactionKind, Tx } from '../store'
import { useTables } from '../tables'
import { PgChangeEpochs } from './change-epochs'
import { storedFilesBackend } from './files'
import { type AdvisoryLocks, advisoryLocks } from './locks'
import { migratePg, pendingPgMigrations } from './migrate'
import * as pgSchema from './schema'
import { openPgSnapshot } from './snapshot'

/** The URL as it may appear in messages and logs: without its password. */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'postgres://…'
  }
}

export interface PgStoreOptions {
  /** Connections in the pool. @default 10 */
  max?: number
  /** Runs before anything else, on first use (the test harness creates the database here). */
  prepare?: () => Promise<void>
  /** Closes connections idle this long, in seconds. @default 0 (never) */
  idleTimeout?: number
  /** Apply pending migrations when first used. @default true */
  migrate?: boolean
  /** Called once ready with the pseudonym key kept in `stored_files` (created on first start). */
  onPseudonymKey?: (key: Uint8Array) => void
}

export interface PgStore extends Store {
  /** Resolves once the database is reachable and migrated (every transaction waits for it). */
  readonly ready: Promise<void>
  /** Stored files every instance reads (src/lib/storage.ts): rendered sites, icons, certificates. */
  readonly sharedFiles: ReturnType<typeof storedFilesBackend>
  /** Locks every instance on this database respects (db/pg/locks.ts). */
  readonly instanceLocks: AdvisoryLocks
}

const PSEUDONYM_KEY_PATH = 'system/pseudonym.key'

/**
 * On PostgreSQL a chunk blocks no reader (MVCC) and no other account's write (its rows only; the
 * change-epoch shards it raises are skipped by others: migration 0005): chunks may run longer, and
 * fewer make the erasure faster. Measured with `BENCH_STORE=postgres bun run bench erasure`
 * (100,590 rows, 16 clients reading and 8 writing other accounts): 5.3 s at 100 ms, 1.4 s at
 * 1,000 ms on a connection of its own (`onOwnConnection`).
 */
const PG_ERASURE_CHUNK_MS = 1000

/**
 * A store on PostgreSQL (`DATABASE_URL=postgres://…`), through Drizzle on Bun's SQL client.
 * Services run unchanged: db/tables.ts points their tables at the PostgreSQL renderings and
 * db/query.ts runs them through Drizzle's `execute`. A read
 * transaction is REPEATABLE READ READ ONLY (one snapshot, like SQLite's). Write transactions run
 * in parallel, across this process and every instance, in READ COMMITTED: what each check relies
 * on is locked where it lives (db/row-locks.ts; docs/architecture.md, "Who holds each invariant").
 * 64-bit integers come back as BigInt (`bigint: true`), which the rendered columns and the raw
 * statements (db/raw.ts) turn into numbers: never a string where a number is expected.
 * Returned at once; it connects and migrates on first use (`ready`), so callers that cannot wait
 * (the test harness) need not, and `serve` awaits `ready` to fail before it listens.
 */
export function createPgStore(url: string | (() => string), options: PgStoreOptions = {}): PgStore {
  useTables('postgres', pgSchema)
  let client: SQL | null = null
  let orm: ReturnType<typeof drizzle<typeof pgSchema>> | null = null
  const appliedMigrations: string[] = []
  const poolSize = options.max ?? 10
  let ownConnections = 0
  const ready = (async () => {
    await options.prepare?.()
    client = new SQL({
      url: typeof url === 'string' ? url : url(),
      max: poolSize,
      idleTimeout: options.idleTimeout ?? 0,
      bigint: true,
    })
    orm = drizzle({ client, schema: pgSchema })
    await client`SELECT 1`
    if (options.migrate !== false) appliedMigrations.push(...(await migratePg(client)).applied)
    if (options.onPseudonymKey) options.onPseudonymKey(await pseudonymKey(client))
  })()
  ready.catch(() => {}) // reported to whoever awaits it (every transaction does)
  // A pool that closes idle connections soon (the test harness's: hundreds of stores a run) closes
  // its idle lock connections as soon; otherwise they stay 30 s.
  const locks = advisoryLocks(
    () => (typeof url === 'string' ? url : url()),
    8,
    options.idleTimeout ? Math.min(options.idleTimeout, 30) : 30,
  )
  /** A transaction on `on` (the pool, or a connection reserved for one job) through `db`. */
  const transactOn = <T>(
    on: SQL,
    db: NonNullable<typeof orm>,
    kind: TransactionKind,
    fn: (tx: Tx) => T | Promise<T>,
  ): Promise<T> => {
    const run = async (tx: unknown) => fn(tx as Tx)
    if (kind === 'read') return readOnly(on, db, run)
    // Write transactions run in parallel, each on its own connection (READ COMMITTED): the
    // invariants are held by the rows that own them (db/row-locks.ts, unique indexes,
    // conditional updates), not by a lock every write takes.
    return retryingConflicts(() => db.transaction(run))
  }
  const transact = async <T>(kind: TransactionKind, fn: (tx: Tx) => T | Promise<T>): Promise<T> => {
    await ready
    return transactOn(client as SQL, orm as NonNullable<typeof orm>, kind, fn)
  }
  const store: PgStore = {
    dialect: 'postgres',
    get path() {
      return describePostgresUrl(typeof url === 'string' ? url : url())
    },
    /** Drizzle on PostgreSQL, once `ready` (db/ and tests only). */
    get orm() {
      return orm as unknown as Orm
    },
    epochs: new PgChangeEpochs(async () => {
      await ready
      return client as SQL
    }),
    ready,
    appliedMigrations,
    sharedFiles: storedFilesBackend(async () => {
      await ready
      return client as SQL
    }),
    instanceLocks: locks,
    keepsPseudonymKey: true,
    fileDirectory: null,
    databaseFiles: [],
    get description() {
      return `PostgreSQL ${store.path}`
    },
    // PostgreSQL checkpoints and vacuums without us.
    startUpkeep: async () => ({ stop: async () => {} }),
    async health() {
      await ready
      const [{ transaction_read_only: readOnly }] = await (client as SQL)`SHOW transaction_read_only`
      return {
        pendingMigrations: await pendingPgMigrations(client as SQL),
        writeProblem:
          readOnly === 'on'
            ? 'the server accepts only reads (a standby, or default_transaction_read_only)'
            : null,
      }
    },
    snapshot: (userId) => openPgSnapshot(store, userId),
    async compact(onTable = () => {}) {
      await compactTables(store, ERASURE_TOUCHED_TABLES, onTable)
      return { tables: [...ERASURE_TOUCHED_TABLES] }
    },
    backupTo() {
      throw new Error(
        'a PostgreSQL database is backed up with its own tools (pg_dump, or a base backup with WAL archiving)',
      )
    },
    transact,
    async onOwnConnection(job) {
      await ready
      // A quarter of the pool at most: the jobs' other work (stored files) and the requests
      // keep connections to run on; past that, a job shares the pool like a request.
      if (ownConnections >= Math.max(1, Math.floor(poolSize / 4))) return job(store)
      ownConnections++
      const reserved = await (client as SQL).reserve().catch((error) => {
        ownConnections--
        throw error
      })
      try {
        const own = drizzle({ client: reserved, schema: pgSchema })
        return await job({ ...store, transact: (kind, fn) => transactOn(reserved, own, kind, fn) })
      } finally {
        reserved.release()
        ownConnections--
      }
    },
    async announce(channel) {
      await ready
      await (client as SQL).notify(channel, '')
    },
    erasureChunkMs: PG_ERASURE_CHUNK_MS,
    afterErasure(tables, report) {
      vacuumTables(store, tables).catch((error) => report('VACUUM after an erasure failed', error))
    },
    async onAnnouncement(channel, fn) {
      await ready
      // Bun keeps one LISTEN connection and re-subscribes after it reconnects.
      const subscription = await (client as SQL).listen(channel, () => fn())
      return () => subscription.unlisten()
    },
    close() {
      locks.close()
      void client?.close()
    },
  }
  return store
}

/** PostgreSQL's answers for a transaction that lost a deadlock or a serialization conflict. */
const CONFLICT_CODES = new Set(['40P01', '40001'])
const CONFLICT_ATTEMPTS = 5

/**
 * Runs the transaction again when PostgreSQL aborted it as a deadlock's victim or for a
 * serialization conflict: nothing of it was committed, and the other transaction went on. Bounded
 * (a conflict that keeps coming back is reported, not looped on), with a short random pause so two
 * victims do not meet again at once.
 */
export async function retryingConflicts<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt()
    } catch (error) {
      if (!CONFLICT_CODES.has(sqlStateOf(error) ?? '') || n >= CONFLICT_ATTEMPTS) throw error
      await Bun.sleep(Math.random() * 5 * n)
    }
  }
}

/**
 * A read transaction opened by one statement, `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`:
 * Drizzle's `transaction()` with a config sends BEGIN, then SET TRANSACTION — a round trip more on
 * every read. The Drizzle transaction is built on Bun's as Drizzle's own `transaction()` builds it.
 */
function readOnly<T>(client: SQL, db: unknown, run: (tx: unknown) => Promise<T>): Promise<T> {
  const { dialect, schema, options } = (db as { session: { dialect: never; schema: never; options: never } })
    .session
  return client.begin('ISOLATION LEVEL REPEATABLE READ READ ONLY', (connection) => {
    const session = new BunSQLSession(connection as never, dialect, schema, options)
    return run(new BunSQLTransaction(dialect, session, schema))
  }) as Promise<T>
}

/**
 * The key user ids are pseudonymised with (src/lib/pseudonym.ts): on SQLite a file beside the
 * database; here a row of `stored_files` every instance reads, created by the first to start
 * (`ON CONFLICT DO NOTHING`: two starting at once agree on the winner's).
 */
async function pseudonymKey(client: SQL): Promise<Uint8Array> {
  const generated = new TextEncoder().encode(
    Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex'),
  )
  await client`INSERT INTO stored_files (path, bytes, sha256, size, modified_at)
    VALUES (${PSEUDONYM_KEY_PATH}, ${generated}, ${new Bun.CryptoHasher('sha256').update(generated).digest('hex')}, ${generated.length}, ${Date.now()})
    ON CONFLICT (path) DO NOTHING`
  const [row] = await client`SELECT bytes FROM stored_files WHERE path = ${PSEUDONYM_KEY_PATH}`
  return new TextEncoder().encode(new TextDecoder().decode(row.bytes as Uint8Array).trim())
}

/**
 * After an erasure: VACUUM (ANALYZE) the tables it touched, so the dead row versions PostgreSQL
 * keeps for older snapshots are reclaimed now rather than by autovacuum later, and the planner's
 * statistics (`pg_stats`: common values, histogram bounds) are rebuilt without the erased values.
 * A snapshot older than the erasure (an export streaming) keeps those versions alive and VACUUM
 * then reclaims nothing: it is run again once no such snapshot remains, as the SQLite WAL scrub
 * is retried. What VACUUM does not do is in docs/postgresql.md: the freed space is reused, not
 * overwritten, until rows land on it; WAL segments, archives, replicas and backups keep copies for
 * as long as the operator keeps them. Runs outside any transaction (VACUUM must).
 */
export async function vacuumTables(
  store: Store,
  tables: readonly string[],
  { retryMs = 1000, maxWaitMs = 6 * 60 * 60 * 1000 }: { retryMs?: number; maxWaitMs?: number } = {},
): Promise<void> {
  const pool = (store.orm as unknown as { $client: SQL }).$client
  // Transactions that began after the erasure committed see none of its rows.
  const [{ horizon }] =
    await pool`SELECT (pg_snapshot_xmax(pg_current_snapshot())::text::bigint % 4294967296) AS horizon`
  const vacuum = () => oneVacuumAtATime(pool, `VACUUM (ANALYZE) ${tables.map((t) => `"${t}"`).join(', ')}`)
  await vacuum()
  const olderSnapshots = async () => {
    const [{ n }] = await pool`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL
        AND backend_xmin::text::bigint < ${horizon}`
    return Number(n)
  }
  if ((await olderSnapshots()) === 0) return
  const deadline = Date.now() + maxWaitMs
  while (Date.now() < deadline) {
    await Bun.sleep(retryMs)
    if ((await olderSnapshots()) === 0) return void (await vacuum())
  }
}

let vacuums: Promise<unknown> = Promise.resolve()

/**
 * IMPORTANT: each VACUUM on a connection reserved for it — Bun's pool may queue a request's
 * statements behind a busy connection's, and a VACUUM can take seconds — and one at a time in
 * this process: two VACUUMs of the same tables wait for each other's truncation (up to 5 s a
 * table). Measured: two erasures' VACUUMs at once held a request's transaction for 20 s.
 */
function oneVacuumAtATime(pool: SQL, statement: string): Promise<void> {
  const run = vacuums.then(async () => {
    const connection = await pool.reserve()
    try {
      await connection.unsafe(statement)
    } finally {
      connection.release()
    }
  })
  vacuums = run.catch(() => {})
  return run
}

/** `VACUUM FULL` of each table in turn (`store.compact`): new files, the old ones unlinked. */
export async function compactTables(
  store: Store,
  tables: readonly string[],
  onTable: (table: string, done: number, total: number) => void,
): Promise<void> {
  const pool = (store.orm as unknown as { $client: SQL }).$client
  for (const [i, table] of tables.entries()) {
    onTable(table, i, tables.length)
    await pool.unsafe(`VACUUM (FULL, ANALYZE) "${table}"`)
  }
}
