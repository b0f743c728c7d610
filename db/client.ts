import { Database, type SQLQueryBindings, type Statement } from 'bun:sqlite'
import { type BunSQLiteDatabase, drizzle } from 'drizzle-orm/bun-sqlite'
import { ChangeEpochs } from './change-epochs'
import * as schema from './schema'
import { withStablePlan } from './stable-plans'
import { TransactionLock } from './transaction-lock'

export type Orm = BunSQLiteDatabase<typeof schema> & { $client: Database }
/**
 * What a transaction's statements run on — handed to the function of `readTransaction` and
 * `writeTransaction`, the only way services reach the database (test/contract/layering.test.ts).
 * On SQLite it is the store's one connection.
 */
export type Tx = Orm

/** An open database: the raw bun:sqlite handle (prepared hot statements) and the Drizzle ORM. */
export interface Store {
  readonly path: string
  readonly sqlite: Database
  readonly orm: Orm
  /** Whether cached credentials and account status may still be trusted (db/change-epochs.ts). */
  readonly epochs: ChangeEpochs
  /** Whose turn it is to run a transaction on the connection (db/transaction-lock.ts). */
  readonly lock: TransactionLock
  close(): void
}

export const isMemoryPath = (path: string) => path === ':memory:' || path.startsWith('file::memory:')

const BUSY_TIMEOUT_MS = 5000

/** Pragmas proven on SQLite servers (PocketBase): see ../shared/toolchain.md for the measured gain. */
export function applyPragmas(sqlite: Database, path: string) {
  sqlite.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
  // IMPORTANT: an erased account must leave no bytes behind (data-rights.md). With secure_delete
  // ON, SQLite overwrites deleted cells and freed pages with zeros as it frees them; FAST leaves
  // whole freed pages on the freelist untouched — which is where a chunked erasure puts most of an
  // account. Measured on `bun run bench erasure`: see the README's "Erasure" notes.
  sqlite.exec('PRAGMA secure_delete = ON')
  if (!isMemoryPath(path)) sqlite.exec('PRAGMA journal_mode = WAL')
  sqlite.exec('PRAGMA synchronous = NORMAL')
  sqlite.exec('PRAGMA foreign_keys = ON')
  sqlite.exec('PRAGMA temp_store = MEMORY')
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
  return {
    path,
    sqlite,
    orm,
    epochs: new ChangeEpochs(sqlite, isMemoryPath(path) ? null : path),
    lock: new TransactionLock(),
    close() {
      sqlite.close()
    },
  }
}

/**
 * Runs `fn` in one write transaction taken with BEGIN IMMEDIATE, so that a second process
 * (`custodian purge` beside the server) waits on busy_timeout instead of failing mid-way. The
 * store's lock is held from BEGIN to COMMIT: another request's transaction waits for its turn
 * even while `fn` awaits. Do not open a transaction inside `fn` (it would wait for itself): pass
 * `tx` to the helpers it calls.
 */
export async function writeTransaction<T>(store: Store, fn: (tx: Tx) => T | Promise<T>): Promise<T> {
  if (!store.lock.tryAcquire()) await store.lock.acquire()
  try {
    // Our own BEGIN IMMEDIATE … COMMIT on prepared statements, not Drizzle's `transaction()`,
    // which builds a transaction object per call (~1.5% of the server's time under mixed load).
    const db = store.sqlite
    const statements = transactionStatementsOf(db)
    statements.beginImmediate.run()
    let result: T
    try {
      result = await fn(store.orm)
      statements.commit.run()
    } catch (error) {
      if (db.inTransaction) statements.rollback.run()
      throw error
    }
    // Committed: if it changed a credential or an account's status (the triggers moved a
    // counter), every process's caches of that go now, before the caller answers anyone.
    store.epochs.noteWrites()
    return result
  } finally {
    store.lock.release()
  }
}

/** `build(store)` once per store, then the same value (for what lives as long as a store). */
export function perStore<T>(build: (store: Store) => T): (store: Store) => T {
  const cache = new WeakMap<Store, T>()
  return (store) => {
    let built = cache.get(store)
    if (built === undefined) {
      built = build(store)
      cache.set(store, built)
    }
    return built
  }
}

/** `build(tx)` once per connection, then the same value: prepared statements live as long as it. */
function perConnection<T>(build: (tx: Tx) => T): (tx: Tx) => T {
  const cache = new WeakMap<Tx, T>()
  return (tx) => {
    let built = cache.get(tx)
    if (built === undefined) {
      built = build(tx)
      cache.set(tx, built)
    }
    return built
  }
}

/**
 * A statement prepared once per connection. Drizzle's query builder costs tens of microseconds
 * per call (it rebuilds SQL every time); a prepared statement costs about one. Define hot
 * statements at module level with `sql.placeholder(...)` and call `stmt(tx)` inside a
 * transaction to get the prepared query.
 */
export const preparedFor = <T>(build: (tx: Tx) => T): ((tx: Tx) => T) => perConnection(build)

/** Named parameters of a raw statement (bun:sqlite, strict mode: keys without the `$`). */
type NamedParams = Extract<SQLQueryBindings, Record<string, unknown>>

/** A raw bun:sqlite statement with named `$parameters`, prepared once per connection. */
export const statementFor = <Params extends NamedParams>(
  sql: string,
): ((tx: Tx) => Statement<Record<string, unknown>, [Params]>) =>
  perConnection((tx) => tx.$client.prepare<Record<string, unknown>, [Params]>(sql))

/** Raw bun:sqlite statements built once per connection (typed positional ones, several at once). */
export const statementsFor = <T>(build: (sqlite: Database) => T): ((tx: Tx) => T) =>
  perConnection((tx) => build(tx.$client))

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
 * Runs reads in one read transaction: one consistent view, and cheaper than statements run one
 * by one on a WAL file (each otherwise opens and closes its own: four lookups measured 15.6 µs
 * apart, 8.3 µs together). Holds the store's lock like `writeTransaction`, so no other request's
 * write can land inside it. (Not bun:sqlite's `db.transaction(fn)()`: building that wrapper on
 * every call cost more than the grouping saved.)
 */
export async function readTransaction<T>(store: Store, fn: (tx: Tx) => T | Promise<T>): Promise<T> {
  if (!store.lock.tryAcquire()) await store.lock.acquire()
  try {
    const db = store.sqlite
    const statements = transactionStatementsOf(db)
    statements.begin.run()
    try {
      const result = await fn(store.orm)
      statements.commit.run()
      return result
    } catch (error) {
      if (db.inTransaction) statements.rollback.run()
      throw error
    }
  } finally {
    store.lock.release()
  }
}

/**
 * Checkpoints the WAL into the database file and truncates it to zero bytes, so no old frame
 * (a page as it was before an erasure) stays readable in `-wal`. Never waits: when another
 * connection holds a read snapshot (an export streaming) it answers false and the caller tries
 * again later, rather than stalling every request behind the busy timeout.
 */
export function truncateWal(store: Store): boolean {
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
