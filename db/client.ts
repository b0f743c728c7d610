import { Database, type SQLQueryBindings, type Statement } from 'bun:sqlite'
import { dirname, resolve } from 'node:path'
import { type SQL, sql } from 'drizzle-orm'
import { type BunSQLiteDatabase, drizzle } from 'drizzle-orm/bun-sqlite'
import { ChangeEpochs } from './change-epochs'
import { type PgClient, postgresRaw, type RawDb, sqliteRaw } from './raw'
import * as schema from './schema'
import { withStablePlan } from './stable-plans'
import { TransactionLock } from './transaction-lock'
import { WritePause } from './write-pause'

export type Orm = BunSQLiteDatabase<typeof schema> & { $client: Database }
/**
 * What a transaction's statements run on — handed to the function of `readTransaction` and
 * `writeTransaction`, the only way services reach the database (test/contract/layering.test.ts).
 * On SQLite it is the store's one connection.
 */
export type Tx = Orm

export type Dialect = 'sqlite' | 'postgres'
export type TransactionKind = 'read' | 'write'

/**
 * An open database. Services use it only through `readTransaction` and `writeTransaction`. The
 * raw handles are for db/ and a listed few (test/contract/layering.test.ts): `sqlite` exists on a
 * SQLite store only (on PostgreSQL reading it throws); `orm` is the Drizzle database, typed as
 * SQLite's on both (db/tables.ts, db/pg/sqlite-shaped.ts).
 */
export interface Store {
  readonly dialect: Dialect
  /** The database file, or on PostgreSQL the URL without its password (for messages). */
  readonly path: string
  readonly sqlite: Database
  readonly orm: Orm
  /** Runs `fn` in one transaction of this kind: what the two functions below call. */
  transact<T>(kind: TransactionKind, fn: (tx: Tx) => T | Promise<T>): Promise<T>
  /** Whether cached credentials and account status may still be trusted (db/change-epochs.ts). */
  readonly epochs: ChangeEpochs
  /** Whose turn it is to run a transaction on the connection (db/transaction-lock.ts). */
  readonly lock: TransactionLock
  /** Holds back write transactions while reads go on (db/write-pause.ts; SQLite's WAL restart). */
  readonly writes: WritePause
  /**
   * Tells every other instance on this database that something happened on `channel`
   * (PostgreSQL's NOTIFY). One process owns a SQLite store: there, nobody else is told.
   */
  announce(channel: string): Promise<void>
  /** Calls `fn` when another instance announces on `channel`; resolves to a function that stops it. */
  onAnnouncement(channel: string, fn: () => void): Promise<() => Promise<void>>
  /**
   * Longest one erase transaction should hold its lock, in ms: SQLite's writer holds back every
   * other write (and a reader's checkpoint); a PostgreSQL chunk blocks no reader.
   */
  readonly erasureChunkMs: number
  /**
   * After an erasure committed: leaves its bytes unreadable as far as the engine allows, retrying
   * while a reader's snapshot prevents it (SQLite: the WAL checkpointed and truncated; PostgreSQL:
   * VACUUM (ANALYZE) of `tables`). Never waits; `report` hears of a failure.
   */
  afterErasure(tables: readonly string[], report: (message: string, error?: unknown) => void): void
  /** "SQLite <file>" or "PostgreSQL <URL without password>": what logs and banners name. */
  readonly description: string
  /**
   * The directory of the database file, where its side files live (pseudonym.key, the erasure
   * ledger, the instance lock), and whose disk it fills; null when there is none (PostgreSQL,
   * an in-memory database).
   */
  readonly fileDirectory: string | null
  /**
   * Stored files (sites, icons, certificates) every instance reads, kept in the database; null:
   * they live in STORAGE_DIR on this machine.
   */
  readonly sharedFiles: SharedFiles | null
  /** Locks and job turns across instances; null where one process owns the store. */
  readonly instanceLocks: InstanceLocks | null
  /** Whether the store keeps the pseudonym key itself (shared by its instances). */
  readonly keepsPseudonymKey: boolean
  /** The migrations applied to it since it was opened (in order), for the log and `migrate`. */
  readonly appliedMigrations: string[]
  /**
   * Background upkeep while serving (SQLite: WAL checkpoints from a worker thread), stopped with
   * the returned function; none for PostgreSQL.
   */
  startUpkeep(
    report: (message: string, fields: Record<string, unknown>) => void,
  ): Promise<{ stop(): Promise<void> }>
  /** A consistent copy of the whole database into a new file (SQLite's VACUUM INTO). */
  backupTo(file: string): void
  /** Closes it; `checkpoint` first folds the WAL into the file and truncates it (a clean stop). */
  close(options?: { checkpoint?: boolean }): void
}

/** Locks every instance on one database respects (db/pg/locks.ts). */
export interface InstanceLocks {
  /** Runs `fn` holding the lock named `key` across instances (waits for it). */
  hold<T>(key: string, fn: () => Promise<T>): Promise<T>
  /** Runs `fn` if no other instance holds the job's lock; returns whether it ran. */
  tryJob(name: string, fn: () => Promise<unknown>): Promise<boolean>
  close(): void
}

/** Files kept in the database for every instance (db/pg/files.ts; src/lib/storage.ts's backend). */
export interface SharedFiles {
  readonly shared: true
  /** Replaces the file whole: a reader sees the old bytes or the new, never half. */
  write(path: string, bytes: Uint8Array | string, mode?: number): Promise<void>
  read(path: string): Promise<Uint8Array | null>
  /** A response body for the file (a local file streams), or null when there is none. */
  body(path: string): Promise<Blob | null>
  /** Removes the file, or everything under the directory `path`; idempotent. */
  remove(path: string): Promise<void>
  /** Names directly under the directory `path` (files and directories). */
  list(path: string): Promise<string[]>
  /** Removes the directories from `path` up to `stop` (inclusive) while each is empty. */
  removeEmptyDirectories(path: string, stop: string): Promise<void>
}

/** Longest a single erase transaction should hold SQLite's write lock (docs/spec/data-rights.md §2). */
const SQLITE_ERASURE_CHUNK_MS = 10

export const isMemoryPath = (path: string) => path === ':memory:' || path.startsWith('file::memory:')

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

export function openStore(path: string): Store {
  const sqlite = new Database(path, { create: true, strict: true })
  applyPragmas(sqlite, path)
  const orm = drizzle({ client: withStatementCache(sqlite), schema })
  const store: Store = {
    dialect: 'sqlite',
    path,
    sqlite,
    orm,
    epochs: new ChangeEpochs(sqlite, isMemoryPath(path) ? null : path),
    lock: new TransactionLock(),
    writes: new WritePause(),
    transact: (kind, fn) => sqliteTransaction(store, kind, fn),
    announce: async () => {},
    onAnnouncement: async () => async () => {},
    erasureChunkMs: SQLITE_ERASURE_CHUNK_MS,
    afterErasure: (_tables, report) => scrubWalSoon(store, report),
    description: `SQLite ${path}`,
    fileDirectory: isMemoryPath(path) ? null : dirname(resolve(path)),
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

/**
 * Runs `fn` in one write transaction. On SQLite it is taken with BEGIN IMMEDIATE, so that a
 * second process (`custodian purge` beside the server) waits on busy_timeout instead of failing
 * mid-way, and the store's lock is held from BEGIN to COMMIT: another request's transaction waits
 * for its turn even while `fn` awaits. Do not open a transaction inside `fn` (it would wait for
 * itself): pass `tx` to the helpers it calls.
 */
export function writeTransaction<T>(store: Store, fn: (tx: Tx) => T | Promise<T>): Promise<T> {
  return store.transact('write', fn)
}

/**
 * Runs reads in one read transaction: one consistent view, and on SQLite cheaper than statements
 * run one by one on a WAL file (each otherwise opens and closes its own: four lookups measured
 * 15.6 µs apart, 8.3 µs together). On SQLite it holds the store's lock like `writeTransaction`,
 * so no other request's write can land inside it.
 */
export function readTransaction<T>(store: Store, fn: (tx: Tx) => T | Promise<T>): Promise<T> {
  return store.transact('read', fn)
}

async function sqliteTransaction<T>(
  store: Store,
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

/** `build(key)` once per key (a store, a connection), then the same value, as long as the key lives. */
export function perKey<K extends object, T>(build: (key: K) => T): (key: K) => T {
  const cache = new WeakMap<K, T>()
  return (key) => {
    let built = cache.get(key)
    if (built === undefined) {
      built = build(key)
      cache.set(key, built)
    }
    return built
  }
}

/** `build(tx)` once per connection: prepared statements live as long as it. */
const perConnection = <T>(build: (tx: Tx) => T): ((tx: Tx) => T) => perKey(build)

/**
 * A statement prepared once per connection. Drizzle's query builder costs tens of microseconds
 * per call (it rebuilds SQL every time); a prepared statement costs about one. Define hot
 * statements at module level with `sql.placeholder(...)` and call `stmt(tx)` inside a
 * transaction to get the prepared query.
 */
export const preparedFor = <T>(build: (tx: Tx) => T): ((tx: Tx) => T) => perConnection(build)

/** Named parameters of a raw statement (bun:sqlite, strict mode: keys without the `$`). */
export type NamedParams = Extract<SQLQueryBindings, Record<string, unknown>>

/** A raw statement with named `$parameters` (db/raw.ts), prepared once per connection. */
export const statementFor = <Params extends NamedParams>(
  sql: string,
): ((tx: Tx) => Statement<Record<string, unknown>, [Params]>) =>
  perConnection((tx) => rawDbOf(tx).prepare<Record<string, unknown>, [Params]>(sql))

/** Raw statements (db/raw.ts) built once per connection (typed positional ones, several at once). */
export const statementsFor = <T>(build: (db: RawDb) => T): ((tx: Tx) => T) =>
  perConnection((tx) => build(rawDbOf(tx)))

/** Whether the transaction runs on PostgreSQL (for the few query fragments that differ). */
export const onPostgres = (tx: Tx): boolean => !(tx.$client instanceof Database)

/**
 * A placeholder for JSON already serialised, bound to a JSON column: SQLite stores the text as
 * it is; PostgreSQL is told it is text, which its json column then parses (a string parameter
 * bound to a json column directly would be stored as a JSON string: db/pg/schema.ts).
 */
export const jsonTextPlaceholder = (tx: Tx, name: string): SQL =>
  onPostgres(tx) ? sql`${sql.placeholder(name)}::text::json` : sql`${sql.placeholder(name)}`

/** The transaction's connection, for raw statements (db/raw.ts). */
export function rawDbOf(tx: Tx): RawDb {
  if (tx.$client instanceof Database) return sqliteRaw(tx.$client)
  return postgresRaw((tx as unknown as { session: { client: PgClient } }).session.client)
}

/**
 * Rows changed by a Drizzle `.run()` on bun:sqlite. Drizzle returns bun:sqlite's `Changes` at run
 * time but types the result as void.
 */
export function changesOf(result: unknown): number {
  return (result as { changes?: number } | undefined)?.changes ?? 0
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
export function truncateWal(store: Store): boolean {
  if (store.dialect !== 'sqlite' || isMemoryPath(store.path)) return true
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

const pendingScrubs = new WeakSet<Store>()

/**
 * The freed pages are zeroed in the database (secure_delete), but the WAL still holds frames of
 * the pages as they were: checkpoint and truncate it once the erasure is committed. When a long
 * read (an export) holds a snapshot, try again every second until it is done.
 */
function scrubWalSoon(store: Store, report: (message: string) => void, attempt = 0) {
  if (truncateWal(store)) {
    pendingScrubs.delete(store)
    return
  }
  if (attempt === 0 && pendingScrubs.has(store)) return // one retry loop per store
  pendingScrubs.add(store)
  if (attempt >= 300) {
    report('WAL still busy after an erasure; it is truncated at the next checkpoint or shutdown')
    pendingScrubs.delete(store)
    return
  }
  setTimeout(() => {
    try {
      scrubWalSoon(store, report, attempt + 1)
    } catch {
      pendingScrubs.delete(store) // the store was closed meanwhile
    }
  }, 1000).unref()
}

/**
 * Whether the database can be written, without writing: a write transaction that sets the schema
 * version to what it is and rolls back. A read-only file (or a directory SQLite cannot create its
 * `-wal` in) opens and reads fine, so only a write shows it. Returns the reason, or null.
 */
export function writeProblem(store: Store): string | null {
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
