import { Database, type SQLQueryBindings, type Statement } from 'bun:sqlite'
import { type SQL, sql } from 'drizzle-orm'
import type { BunSQLiteDatabase } from 'drizzle-orm/bun-sqlite'
import type { ChangeEpochs } from './change-epochs'
import { type PgClient, postgresRaw, type RawDb, sqliteRaw } from './raw'
import type * as schema from './schema'
import type { Snapshot } from './snapshot'

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
 * The store port: what services get of an open database, implemented natively by both wings
 * (db/sqlite/store.ts, db/pg/store.ts). Services use it through `readTransaction` and
 * `writeTransaction` and the capabilities below; nothing outside db/ asks which engine it is
 * (test/contract/layering.test.ts). `orm` is the Drizzle database for db/ and tests, typed as
 * SQLite's on both (db/tables.ts renders the same tables for PostgreSQL; db/query.ts runs them).
 */
export interface Store {
  readonly dialect: Dialect
  /** The database file, or on PostgreSQL the URL without its password (for messages). */
  readonly path: string
  readonly orm: Orm
  /** Runs `fn` in one transaction of this kind: what the two functions below call. */
  transact<T>(kind: TransactionKind, fn: (tx: Tx) => T | Promise<T>): Promise<T>
  /**
   * Runs a long job (an erasure's chunks) with a store whose transactions go to a connection of
   * their own. PostgreSQL: one reserved from the pool for the job, so each of its many short
   * transactions does not wait behind the requests' queue for a connection (measured: ~150 ms a
   * chunk with 24 clients busy). SQLite: the store itself (one connection, taken in turn).
   */
  onOwnConnection<T>(job: (store: Store) => Promise<T>): Promise<T>
  /** Whether cached credentials and account status may still be trusted (db/change-epochs.ts). */
  readonly epochs: ChangeEpochs
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
  /** The files that hold the database's bytes on this machine (SQLite: the file and its `-wal`); none on PostgreSQL. */
  readonly databaseFiles: readonly string[]
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
  /** What /readyz asks of the store: it answers, it is migrated, it can be written. Throws when unreachable. */
  health(): Promise<StoreHealth>
  /**
   * A consistent read view of the whole database for one user's export, taken now (on SQLite
   * synchronously, before any await): db/snapshot.ts.
   */
  snapshot(userId: string): Snapshot | Promise<Snapshot>
  /**
   * Rewrites the tables an erasure touches so that no freed bytes of erased accounts remain in the
   * database's files (`custodian compact`); answers what it rewrote. SQLite zeroes freed pages as
   * it frees them (secure_delete): there `VACUUM` only gives space back. On PostgreSQL a VACUUM
   * frees dead rows but does not overwrite them, so an erased email can still be read from the
   * table and index files until new rows land on that space; `VACUUM FULL` rewrites each table and
   * its indexes into new files (the old ones unlinked), at the cost of an exclusive lock on the
   * table while it is rewritten.
   */
  compact(onTable?: (table: string, done: number, total: number) => void): Promise<{ tables: string[] }>
  /** A consistent copy of the whole database into a new file (SQLite's VACUUM INTO). */
  backupTo(file: string): void
  /** Closes it; `checkpoint` first folds the WAL into the file and truncates it (a clean stop). */
  close(options?: { checkpoint?: boolean }): void
}

export interface StoreHealth {
  pendingMigrations: number
  /** Why the database cannot be written (a read-only file; a PostgreSQL standby), else null. */
  writeProblem: string | null
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

export const isMemoryPath = (path: string) => path === ':memory:' || path.startsWith('file::memory:')

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
 *
 * On PostgreSQL every transaction is a handle of its own, so "per connection" would build the
 * query anew in each (measured: Drizzle's query building was a third of the server's CPU under
 * `GET /api/account`). There it is built once, and each transaction gets a view of it that runs on
 * the transaction's client: Drizzle's prepared query keeps its SQL, parameters and row mapping
 * apart from the `client` it sends them on, which the view overrides.
 */
export const preparedFor = <T>(build: (tx: Tx) => T): ((tx: Tx) => T) => {
  const onSqlite = perConnection(build)
  let built: T | undefined
  return (tx) => {
    if (!onPostgres(tx)) return onSqlite(tx)
    built ??= build(tx)
    return onClient(built, (tx as unknown as { session: { client: unknown } }).session.client)
  }
}

/** `prepared` sending on `client` (PostgreSQL, Drizzle's BunSQLPreparedQuery). */
function onClient<T>(prepared: T, client: unknown): T {
  if (typeof prepared !== 'object' || prepared === null || !('client' in prepared))
    throw new Error('preparedFor builds a prepared query (`.prepare()`), which sends on a `client`')
  return Object.create(prepared as object, { client: { value: client } }) as T
}

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
