import { SQL } from 'bun'

/**
 * Advisory locks shared by every instance on one PostgreSQL database, for work that spans more
 * than a transaction (a transaction's invariants are held by row locks: db/row-locks.ts). Each
 * kind is its own key space (the first of the two 32-bit keys):
 *
 * - `ACCOUNT`: held for the duration of work that spans more than a transaction — an account's
 *   billing changes, which call Stripe between reading and writing seats (`pg_advisory_lock` on a
 *   reserved connection of a pool of its own, so that lock holders' transactions never wait for
 *   a connection a waiter holds).
 * - `JOB`: a background job's turn (`pg_try_advisory_lock`): one instance runs a job's pass at a
 *   time; the others skip it. A crashed holder's connection closes, and with it its locks.
 * - `MIGRATIONS`: held while an instance applies migrations, so that instances started together
 *   apply them once (the others wait, then find nothing pending).
 * - `NAME`: transaction-scoped (`pg_advisory_xact_lock`), for a name being chosen — a slug's
 *   base — so that writers choosing from the same names take turns (db/row-locks.ts).
 */
export const SPACE = {
  ACCOUNT: 0x43550002,
  JOB: 0x43550003,
  MIGRATIONS: 0x43550004,
  NAME: 0x43550005,
} as const

/**
 * On a connection of `pool` reserved for it: takes the session lock `(space, key)` — waiting for
 * it, or only if it is free — runs `fn` on that connection, then releases the lock and the
 * connection. Not taken (only without `wait`): `fn` does not run.
 */
async function withSessionLock<T>(
  pool: SQL,
  space: number,
  key: string,
  wait: boolean,
  fn: (connection: SQL) => Promise<T>,
): Promise<{ taken: false } | { taken: true; value: T }> {
  const reserved = await pool.reserve()
  try {
    const [row] = wait
      ? await reserved`SELECT pg_advisory_lock(${space}, hashtext(${key})), true AS taken`
      : await reserved`SELECT pg_try_advisory_lock(${space}, hashtext(${key})) AS taken`
    if (!row.taken) return { taken: false }
    try {
      return { taken: true, value: await fn(reserved) }
    } finally {
      await reserved`SELECT pg_advisory_unlock(${space}, hashtext(${key}))`
    }
  } finally {
    reserved.release()
  }
}

/** Waits for the lock, then runs `fn` holding it. */
async function holding<T>(pool: SQL, space: number, key: string, fn: (connection: SQL) => Promise<T>) {
  const held = await withSessionLock(pool, space, key, true, fn)
  return (held as { value: T }).value
}

/**
 * Runs `fn` on a connection of `client` reserved for it, holding the migrations lock. `fn` must
 * use that connection: the pool may have no other (`migrate-store` opens its target with one).
 */
export const whileMigrating = <T>(client: SQL, fn: (connection: SQL) => Promise<T>): Promise<T> =>
  holding(client, SPACE.MIGRATIONS, 'migrations', fn)

export interface AdvisoryLocks {
  /** Runs `fn` holding the lock named `key` across instances (waits for it). */
  hold<T>(key: string, fn: () => Promise<T>): Promise<T>
  /** Runs `fn` if no other instance holds the job's lock; returns whether it ran. */
  tryJob(name: string, fn: () => Promise<unknown>): Promise<boolean>
  close(): void
}

/** `idleTimeout`: seconds before an idle lock connection closes (a test store's pools close theirs sooner). */
export function advisoryLocks(url: () => string, max = 8, idleTimeout = 30): AdvisoryLocks {
  let pool: SQL | null = null
  const lockPool = () => {
    pool ??= new SQL({ url: url(), max, idleTimeout })
    return pool
  }
  return {
    hold: (key, fn) => holding(lockPool(), SPACE.ACCOUNT, key, () => fn()),
    async tryJob(name, fn) {
      return (await withSessionLock(lockPool(), SPACE.JOB, name, false, fn)).taken
    },
    close() {
      void pool?.close()
    },
  }
}
