import { Database, type Statement } from 'bun:sqlite'
import { dirname, resolve } from 'node:path'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { ChangeEpochs } from '../change-epochs'
import * as schema from '../schema'
import { isMemoryPath, type Orm, type Store, type TransactionKind, type Tx } from '../store'
import { pendingMigrations } from './migrate'
import { openSqliteSnapshot } from './snapshot'
import { withStablePlan } from './stable-plans'
import { TransactionLock } from './transaction-lock'
import { WritePause } from './write-pause'

/**
 * A store on one SQLite file (the default): one connection, whose transactions take turns
 * (`lock`), and whose writes pause while the WAL restarts (`writes`). db/, the CLI's own stores and
 * tests reach `sqlite` directly; services never do (test/contract/layering.test.ts).
 */
export interface SqliteStore extends Store {
  readonly dialect: 'sqlite'
  readonly sqlite: Database
  /** Whose turn it is to run a transaction on the connection (db/sqlite/transaction-lock.ts). */
  readonly lock: TransactionLock
  /** Holds back write transactions while reads go on (db/sqlite/write-pause.ts; the WAL's restart). */
  readonly writes: WritePause
}

/** Longest a single erase transaction should hold SQLite's write lock (docs/spec/data-rights.md §2). */
const SQLITE_ERASURE_CHUNK_MS = 10
const BUSY_TIMEOUT_MS = 5000
/** Each connection's page cache, at most (KiB): 64 MiB. */
const PAGE_CACHE_KIB = 64 * 1024

/** Pragmas proven on SQLite servers (PocketBase): see ../shared/toolchain.md for the measured gain. */
export function applyPragmas(sqlite: Database, path: string) {
  sqlite.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
  // IMPORTANT: an erased account must leave no bytes behind (docs/spec/data-rights.md). With secure_delete
  // ON, SQLite overwrites deleted cells and freed pages with zeros as it frees them; FAST leaves
  // whole freed pages on the freelist untouched — which is where a chunked erasure puts most of an
  // account. Measured on `bun run bench erasure`: see the docs/api.md's "Erasure" notes.
  sqlite.exec('PRAGMA secure_delete = ON')
  if (!isMemoryPath(path)) sqlite.exec('PRAGMA journal_mode = WAL')
  sqlite.exec('PRAGMA synchronous = NORMAL')
  sqlite.exec('PRAGMA foreign_keys = ON')
  sqlite.exec('PRAGMA temp_store = MEMORY')
  // A page cache for the working set, not SQLite's default 2 MiB (500 pages): under `bun run
  // bench:load` (200 teams, each with its own index leaves) the server's connection missed ~2 pages
  // a request once the tables had grown for ten seconds — 10–16k pread calls a second, one per miss
  // — and ~0 with this. A maximum, filled as pages are used (peak RSS grows by what is cached).
  sqlite.exec(`PRAGMA cache_size = -${PAGE_CACHE_KIB}`)
}

/**
 * Drizzle compiles each query it runs with `Database.prepare`: a new SQLite statement per call,
 * ~10% of the server's CPU under mixed load. Its client gets a `prepare` that keeps one statement
 * per SQL text instead (Drizzle binds values as parameters, so the texts are few). Statements are
 * run synchronously and never iterated through Drizzle, so sharing one is safe. Past `max`
 * entries the oldest is dropped from the cache (not finalized: a long-lived prepared query may
 * still hold it).
 */
function withStatementCache(sqlite: Database, max = 2000): Database {
  const cache = new Map<string, Statement>()
  const prepare = (sql: string) => {
    let statement = cache.get(sql)
    if (!statement) {
      if (cache.size >= max) cache.delete(cache.keys().next().value as string)
      statement = sqlite.prepare(withStablePlan(sql))
      cache.set(sql, statement)
    }
    return statement
  }
  return new Proxy(sqlite, {
    get(target, property) {
      if (property === 'prepare') return prepare
      const value = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

export function openStore(path: string): SqliteStore {
  const sqlite = new Database(path, { create: true, strict: true })
  applyPragmas(sqlite, path)
  const orm = drizzle({ client: withStatementCache(sqlite), schema })
  const store: SqliteStore = {
    dialect: 'sqlite',
    path,
    sqlite,
    orm,
    epochs: new ChangeEpochs(sqlite, isMemoryPath(path) ? null : path),
    lock: new TransactionLock(),
    writes: new WritePause(),
    transact: (kind, fn) => sqliteTransaction(store, kind, fn),
    onOwnConnection: (job) => job(store),
    announce: async () => {},
    onAnnouncement: async () => async () => {},
    erasureChunkMs: SQLITE_ERASURE_CHUNK_MS,
    afterErasure: (_tables, report) => scrubWalSoon(store, report),
    description: `SQLite ${path}`,
    fileDirectory: isMemoryPath(path) ? null : dirname(resolve(path)),
    databaseFiles: isMemoryPath(path) ? [] : [resolve(path), `${resolve(path)}-wal`],
    sharedFiles: null,
    instanceLocks: null,
    keepsPseudonymKey: false,
    appliedMigrations: [],
    async startUpkeep(report) {
      // Loaded on demand: only `serve` runs the checkpoint worker.
      const { startBackgroundCheckpoints } = await import('./checkpointer')
      const checkpoints = await startBackgroundCheckpoints(store, report)
      return { stop: async () => checkpoints?.stop() }
    },
    async health() {
      sqlite.query('SELECT 1').get()
      return { pendingMigrations: pendingMigrations(store), writeProblem: writeProblem(store) }
    },
    snapshot: (userId) => openSqliteSnapshot(store, userId),
    async compact(onTable = () => {}) {
      onTable('the database file', 0, 1)
      sqlite.exec('VACUUM')
      return { tables: ['(whole database)'] }
    },
    backupTo(file) {
      sqlite.run('VACUUM INTO ?', [file])
    },
    close(options) {
      if (options?.checkpoint)
        try {
          sqlite.exec('PRAGMA wal_checkpoint(TRUNCATE)')
        } catch {
          // Closing matters more than folding the WAL: SQLite replays it at the next open.
        }
      sqlite.close()
    },
  }
  return store
}
async function sqliteTransaction<T>(
  store: SqliteStore,
  kind: TransactionKind,
  fn: (tx: Tx) => T | Promise<T>,
): Promise<T> {
  if (kind === 'write') {
    const paused = store.writes.enter()
    if (paused !== undefined) await paused
  }
  if (!store.lock.tryAcquire()) await store.lock.acquire()
  try {
    // Our own BEGIN … COMMIT on prepared statements, not Drizzle's `transaction()`, which builds
    // a transaction object per call (~1.5% of the server's time under mixed load); nor bun:sqlite's
    // `db.transaction(fn)()`, whose wrapper cost more than grouping reads saves.
    const db = store.sqlite
    const statements = transactionStatementsOf(db)
    ;(kind === 'write' ? statements.beginImmediate : statements.begin).run()
    let result: T
    let counters: number[] | null = null
    try {
      result = await fn(store.orm)
      // Read before the COMMIT, not after it in an autocommit read of its own (~2% of the
      // server's time under mixed load).
      if (kind === 'write') counters = store.epochs.committed()
      statements.commit.run()
    } catch (error) {
      if (db.inTransaction) statements.rollback.run()
      throw error
    }
    // Committed: if it changed a credential or an account's status (the triggers moved a
    // counter), every process's caches of that go now, before the caller answers anyone.
    if (kind === 'write') store.epochs.noteWrites(counters)
    return result
  } finally {
    store.lock.release()
    if (kind === 'write') store.writes.leave()
  }
}
const transactionStatements = new WeakMap<
  Database,
  { begin: Statement; beginImmediate: Statement; commit: Statement; rollback: Statement }
>()

function transactionStatementsOf(db: Database) {
  let statements = transactionStatements.get(db)
  if (!statements) {
    statements = {
      begin: db.prepare('BEGIN'),
      beginImmediate: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
    }
    transactionStatements.set(db, statements)
  }
  return statements
}

/**
 * Checkpoints the WAL into the database file and truncates it to zero bytes, so no old frame
 * (a page as it was before an erasure) stays readable in `-wal`. Never waits: when another
 * connection holds a read snapshot (an export streaming) it answers false and the caller tries
 * again later, rather than stalling every request behind the busy timeout.
 */
export function truncateWal(store: SqliteStore): boolean {
  if (isMemoryPath(store.path)) return true
  // Not while a transaction of this process is open on the connection (it may be awaiting).
  if (!store.lock.tryAcquire()) return false
  const db = store.sqlite
  db.exec('PRAGMA busy_timeout = 0')
  try {
    const row = db.query('PRAGMA wal_checkpoint(TRUNCATE)').get() as { busy: number } | null
    return row?.busy === 0
  } catch {
    return false
  } finally {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
    store.lock.release()
  }
}

/** Each store's retry loop: its timer and how many tries it has made. */
const pendingScrubs = new WeakMap<SqliteStore, { timer: ReturnType<typeof setTimeout>; attempt: number }>()
/** About five minutes of tries, the last ones a second apart. */
const SCRUB_ATTEMPTS = 307

/**
 * The freed pages are zeroed in the database (secure_delete), but the WAL still holds frames of
 * the pages as they were: checkpoint and truncate it once the erasure is committed. While a
 * transaction of this process or a long read (an export) is in the way, try again — after 10 ms,
 * doubling to a second — so an erasure's last bytes leave as soon as the requests around it are
 * done. One loop per store; a new erasure restarts it at the quick end.
 */
function scrubWalSoon(store: SqliteStore, report: (message: string) => void, attempt = 0) {
  if (truncateWal(store)) {
    const pending = pendingScrubs.get(store)
    if (pending) clearTimeout(pending.timer)
    pendingScrubs.delete(store)
    return
  }
  const pending = pendingScrubs.get(store)
  if (attempt === 0 && pending) clearTimeout(pending.timer)
  if (attempt >= SCRUB_ATTEMPTS) {
    report('WAL still busy after an erasure; it is truncated at the next checkpoint or shutdown')
    pendingScrubs.delete(store)
    return
  }
  const timer = setTimeout(
    () => {
      try {
        scrubWalSoon(store, report, attempt + 1)
      } catch {
        pendingScrubs.delete(store) // the store was closed meanwhile
      }
    },
    Math.min(1000, 10 * 2 ** attempt),
  )
  timer.unref()
  pendingScrubs.set(store, { timer, attempt })
}

/**
 * Whether the database can be written, without writing: a write transaction that sets the schema
 * version to what it is and rolls back. A read-only file (or a directory SQLite cannot create its
 * `-wal` in) opens and reads fine, so only a write shows it. Returns the reason, or null.
 */
export function writeProblem(store: SqliteStore): string | null {
  const db = store.sqlite
  if (db.inTransaction) return null
  try {
    const { user_version } = db.query('PRAGMA user_version').get() as { user_version: number }
    db.exec('BEGIN IMMEDIATE')
    try {
      db.exec(`PRAGMA user_version = ${Number(user_version)}`)
    } finally {
      db.exec('ROLLBACK')
    }
    return null
  } catch (error) {
    return (error as Error).message
  }
}
