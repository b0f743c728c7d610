import type { Database, Statement } from 'bun:sqlite'
import { closeSync, fstatSync, ftruncateSync, openSync } from 'node:fs'

/**
 * Answers "may a credential verified earlier still be trusted?" in nanoseconds, for every process
 * on one database file (the server, `custodian purge` beside it).
 *
 * Two counters:
 * - `credential_epoch.value` in the database, raised by SQLite triggers (migration 0006) inside
 *   the very transaction that revokes a key, soft-deletes, restores or erases a user, verifies an
 *   email or moves a team. Nothing can change a credential without moving it — but reading it is
 *   a SQLite read (a shared-memory lock, ~1 µs), the cost a cache exists to avoid.
 * - a shared counter in `<database>-epoch`, an 8-byte file every process maps (MAP_SHARED): a
 *   load is a memory read. A process raises it after committing a transaction that moved the
 *   database counter (`noteWrites`, called by `writeTransaction` after COMMIT).
 *
 * A cached credential is used only while the shared counter equals the value it was read under
 * (taken before the rows were read). The raise comes after the commit, so a request answered
 * from the cache in that gap of microseconds is one that ran concurrently with the change; every
 * request that starts after the raise is verified against the database again.
 *
 * Where the shared file cannot be made (a read-only directory) the cache is off: `current()`
 * answers null. An in-memory database lives in one process; its counter is process-local.
 */
export class CredentialEpoch {
  private readonly shared: Int32Array | null
  private tableValue: Statement<{ value: number }, []> | null = null
  private lastSeen: number | null = null

  constructor(
    private readonly sqlite: Database,
    path: string | null,
  ) {
    this.shared = path === null ? new Int32Array(2) : mapSharedCounter(`${path}-epoch`)
  }

  /** The shared counter, or null when credentials must not be cached at all. */
  current(): number | null {
    return this.shared === null ? null : Atomics.load(this.shared, 0)
  }

  /**
   * The triggers' counter as committed (null before migration 0006 ran). Costs a SQLite read:
   * used after writes and by the cache's self-check, never on the hot path.
   */
  committed(): number | null {
    try {
      this.tableValue ??= this.sqlite.prepare('SELECT value FROM credential_epoch WHERE id = 1')
      return this.tableValue.get()?.value ?? null
    } catch {
      return null // the table does not exist yet (an unmigrated database)
    }
  }

  /**
   * After a commit: if any transaction moved the database counter since this process last
   * looked, raise the shared one. Inside an outer transaction it waits for that one's commit
   * (raising before it would let another process cache what is about to change).
   */
  noteWrites() {
    if (this.sqlite.inTransaction) return
    const value = this.committed()
    if (value === this.lastSeen) return
    this.lastSeen = value
    this.raise()
  }

  /** Invalidates every process's cached credentials. */
  raise() {
    if (this.shared) Atomics.add(this.shared, 0, 1)
  }
}

function mapSharedCounter(file: string): Int32Array | null {
  try {
    const fd = openSync(file, 'a', 0o600)
    try {
      if (fstatSync(fd).size < 8) ftruncateSync(fd, 8)
    } finally {
      closeSync(fd)
    }
    const bytes = Bun.mmap(file, { shared: true })
    return new Int32Array(bytes.buffer, bytes.byteOffset, 2)
  } catch {
    return null
  }
}
