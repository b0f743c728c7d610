import type { Database, Statement } from 'bun:sqlite'
import { closeSync, existsSync, fchmodSync, fstatSync, ftruncateSync, openSync, statSync } from 'node:fs'

/** What a cache can depend on. The values are the rows of `change_epochs` (migration 0006). */
export const EpochTopic = { credentials: 1, accountStatus: 2, hosting: 3 } as const
export type EpochTopic = (typeof EpochTopic)[keyof typeof EpochTopic]
const TOPICS = Object.values(EpochTopic)

/**
 * Answers "may something read earlier still be trusted?" in nanoseconds, for every process on one
 * database file (the server, `custodian purge` beside it).
 *
 * Two counters per topic:
 * - a row of `change_epochs` in the database, raised by SQLite triggers (migration 0006) inside
 *   the very transaction that changes what the topic covers (credentials: a key revoked, expired,
 *   suspended or deleted, a user soft-deleted, restored, marked for erasure, verified or removed,
 *   a team's owner; account status: apps, subscriptions, the payment method; hosting: a site
 *   published, its domain or indexing, an app's slug or removal). Nothing can change
 *   them without moving it — but reading it is a SQLite read (a shared-memory lock, ~1 µs), the
 *   cost a cache exists to avoid.
 * - a slot in `<database>-epoch`, a small file every process maps (MAP_SHARED): a load is a memory
 *   read. A process raises the slots whose rows moved after it commits (`noteWrites`, called by
 *   `writeTransaction` after COMMIT with the rows read just before it: every write a topic
 *   covers goes through it).
 *
 * A cached answer is used only while its topic's shared slot equals the value read before the
 * rows were. The raise comes after the commit, so a request answered from a cache in that gap of
 * microseconds is one that ran concurrently with the change; every request that starts after the
 * raise reads the database again.
 *
 * Where the shared file cannot be made (a read-only directory) nothing is cached: `current()`
 * answers null. An in-memory database lives in one process; its counters are process-local.
 * On PostgreSQL the rows are the only counters, read once for all the requests waiting
 * (db/pg/change-epochs.ts).
 */
export class ChangeEpochs {
  private readonly shared: Int32Array | null
  /**
   * Why the shared file exists but could not be mapped (another user's file), else null. A
   * process in that state must not write: the others would keep trusting what it changed.
   */
  readonly sharedProblem: string | null = null
  private rows: Statement<{ value: number }, []> | null = null
  private lastSeen: number[] | null = null
  /** Caches check every hit against the database and throw on a difference (CHECK_CACHES). */
  selfCheck = false

  /**
   * `sqlite` null: a PostgreSQL store, where nothing is cached yet — several instances would need
   * the counters shared between machines (docs/architecture.md).
   */
  constructor(
    private readonly sqlite: Database | null,
    path: string | null,
  ) {
    if (sqlite === null) this.shared = null
    else if (path === null) this.shared = new Int32Array(TOPICS.length + 1)
    else {
      const mapped = mapSharedCounters(`${path}-epoch`, path)
      this.shared = mapped.counters
      this.sharedProblem = mapped.problem
    }
  }

  /** The topic's shared counter, or null when nothing may be cached. */
  current(topic: EpochTopic): number | null {
    return this.shared === null ? null : Atomics.load(this.shared, topic)
  }

  /**
   * The topic's counter as of a moment after this call began, for a cache consulted by a request
   * that began before it: here the shared counter, at once; on PostgreSQL a read of the rows
   * every instance raises (db/pg/change-epochs.ts). Null: nothing may be cached.
   */
  fresh(topic: EpochTopic): number | null | Promise<number | null> {
    return this.current(topic)
  }

  /**
   * The triggers' counters, by topic (null before migration 0006 ran). A SQLite read: by a write
   * transaction just before its COMMIT (where it costs no read lock of its own, and the write lock
   * held since BEGIN IMMEDIATE keeps them from moving), and by the caches' self-check.
   */
  committed(): number[] | null {
    if (this.sqlite === null) return null
    try {
      this.rows ??= this.sqlite.prepare('SELECT value FROM change_epochs WHERE id < 10 ORDER BY id')
      const values = this.rows.all().map((row) => row.value)
      return values.length === TOPICS.length ? values : null
    } catch {
      return null // the table does not exist yet (an unmigrated database)
    }
  }

  /**
   * After a commit: raise the shared counter of every topic whose row moved since this process
   * last looked: `values` as `committed()` read them just before the COMMIT, or read now when not
   * given (a write made outside `writeTransaction`). Inside an outer transaction it waits for that
   * one's commit (raising before it would let another process cache what is about to change).
   */
  noteWrites(values: number[] | null = this.committed()) {
    if (this.sqlite === null || this.sqlite.inTransaction || values === null) return
    const last = this.lastSeen
    this.lastSeen = values
    for (const [index, topic] of TOPICS.entries())
      if (!last || last[index] !== values[index]) this.raise(topic)
  }

  /** Invalidates every process's caches of one topic. */
  raise(topic: EpochTopic) {
    if (this.shared) Atomics.add(this.shared, topic, 1)
  }
}

/**
 * IMPORTANT: the file takes the database file's permission bits, as SQLite's own `-shm` does:
 * any process that may write the database (a `custodian purge` run by another user of the same
 * group) must be able to raise the counters, or the server would keep trusting what it cached.
 */
function mapSharedCounters(
  file: string,
  databasePath: string,
): { counters: Int32Array | null; problem: string | null } {
  const bytes = 4 * (TOPICS.length + 1)
  try {
    const mode = existsSync(databasePath) ? statSync(databasePath).mode & 0o666 : 0o600
    const fd = openSync(file, 'a', mode)
    try {
      const stat = fstatSync(fd)
      if (stat.size < bytes) ftruncateSync(fd, bytes)
      if ((stat.mode & 0o777) !== mode && stat.uid === process.getuid?.()) fchmodSync(fd, mode)
    } finally {
      closeSync(fd)
    }
    const mapped = Bun.mmap(file, { shared: true })
    return { counters: new Int32Array(mapped.buffer, mapped.byteOffset, TOPICS.length + 1), problem: null }
  } catch (error) {
    // Could not be created (a read-only directory): nothing is cached, nothing to tell anyone.
    // Exists but cannot be opened: this process could not tell the others about its writes.
    return {
      counters: null,
      problem: existsSync(file) ? `${file}: ${(error as Error).message}` : null,
    }
  }
}

/**
 * A bounded map whose entries are trusted only under the epoch they were read at (oldest out past
 * `max`). Call `epoch()` before reading the rows a value comes from, and pass that to `set`.
 * Self-check (CHECK_CACHES): on a hit the topic's database counter must not have moved since the
 * entry was stored — a write that changed what a cache holds without raising the epoch fails the
 * request that hit it. (A cache can also compare a hit with a fresh read: `selfCheck` says when.)
 */
export class EpochCache<V> {
  private readonly entries = new Map<string, { value: V; epoch: number; committed: number | null }>()

  constructor(
    private readonly epochs: ChangeEpochs,
    private readonly topic: EpochTopic,
    private readonly max = 10_000,
  ) {}

  /** The topic's epoch now (null: nothing may be cached). */
  epoch(): number | null {
    return this.epochs.current(this.topic)
  }

  /** The topic's epoch as of a moment after this call (ChangeEpochs.fresh): for requests. */
  freshEpoch(): number | null | Promise<number | null> {
    return this.epochs.fresh(this.topic)
  }

  get(key: string, epoch: number | null): V | undefined {
    if (epoch === null) return undefined
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (entry.epoch !== epoch) {
      this.entries.delete(key)
      return undefined
    }
    if (this.epochs.selfCheck) {
      if (this.committed() !== entry.committed)
        throw new Error(`topic ${this.topic} changed without raising its epoch (db/change-epochs.ts)`)
    }
    return entry.value
  }

  set(key: string, epoch: number | null, value: V) {
    if (epoch === null) return
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string)
    this.entries.set(key, { value, epoch, committed: this.epochs.selfCheck ? this.committed() : null })
  }

  private committed(): number | null {
    return this.epochs.committed()?.[this.topic - 1] ?? null
  }
}
