import { SPACE } from './pg/locks'
import { statementsFor, type Tx } from './store'

/**
 * Row locks for the invariants that belong to one account or one team (docs/architecture.md,
 * "Who holds each invariant"). Called first in a write transaction, before the reads a check
 * depends on; they hold until COMMIT or ROLLBACK.
 *
 * - On SQLite a write transaction already holds the database's only write lock (BEGIN
 *   IMMEDIATE), so every check-then-write is serialised: these only read the erasure mark.
 * - On PostgreSQL write transactions run in parallel, in READ COMMITTED: each statement sees what
 *   was committed before it began. A locking read of the owner's row waits for the transactions
 *   holding it, and the statements after it see their work — so a check that follows the lock
 *   holds until COMMIT for every transaction that takes the same lock. Other accounts' rows are
 *   untouched: their writes never wait.
 *
 * `share` (FOR SHARE): writes that only need the account to stay as it is — live, not being
 * erased. Many run at once; marking the account for erasure (an UPDATE of its row) waits for
 * them, and they wait for it, then see the mark. `update` (FOR NO KEY UPDATE): writes that count
 * what the account has (apps, keys) or change its row: one at a time per account. A transaction
 * takes the stronger mode first (share then update would deadlock two such transactions; the
 * store retries a deadlock, but it costs a round). Foreign-key checks (FOR KEY SHARE) do not wait
 * for either mode. Locks go users before teams, everywhere.
 */
export type RowLockMode = 'share' | 'update'

// The erasure mark is read with the lock, on both engines: a write that stores something of the
// account refuses once it is set (src/services/live-account.ts). On SQLite the read is the whole
// cost: the write transaction already excludes every other writer.
const ACCOUNT_SQL = 'SELECT erasure_requested_at AS erasing FROM users WHERE id = ?'
const TEAM_SQL =
  'SELECT u.erasure_requested_at AS erasing, u.id AS owner FROM teams t JOIN users u ON u.id = t.owner_user_id WHERE t.id = ?'
const statements = statementsFor((db) => {
  const locking = (sql: string, clause: string) =>
    db.prepare<{ erasing: unknown; owner?: string }, [string]>(`${sql}${db.words.locking(clause)}`)
  const nameLock = db.words.nameLock(SPACE.NAME, '?')
  return {
    share: locking(ACCOUNT_SQL, 'FOR SHARE'),
    update: locking(ACCOUNT_SQL, 'FOR NO KEY UPDATE'),
    // One round trip: the team's row, and a share lock on its owner's.
    team: locking(TEAM_SQL, 'FOR NO KEY UPDATE OF t FOR SHARE OF u'),
    // Transaction-scoped: released at COMMIT or ROLLBACK.
    name: nameLock === null ? null : db.prepare<unknown, [string]>(nameLock),
  }
})

/** Per transaction: what was locked, and whether its account was live then (it cannot change while held). */
const taken = new WeakMap<object, Map<string, boolean>>()

function heldBy(tx: Tx): Map<string, boolean> {
  const held = taken.get(tx) ?? new Map<string, boolean>()
  taken.set(tx, held)
  return held
}

async function lock(tx: Tx, key: string, take: () => unknown): Promise<boolean> {
  const held = heldBy(tx)
  const known = held.get(key)
  if (known !== undefined) return known
  const row = (await take()) as { erasing: unknown; owner?: string } | null | undefined
  const live = row !== null && row !== undefined && (row.erasing === null || row.erasing === undefined)
  held.set(key, live)
  // A team's lock holds its owner's row in share mode too: the owner's share lock is taken.
  if (row?.owner !== undefined) held.set(`u:share:${row.owner}`, live)
  return live
}

/**
 * Locks the account's `users` row (see above; nothing to wait for on SQLite). Answers whether
 * the account is live: it exists and no erasure has been requested.
 */
export function lockAccount(tx: Tx, userId: string, mode: RowLockMode = 'share'): Promise<boolean> {
  return lock(tx, `u:${mode}:${userId}`, () => statements(tx)[mode].get(userId))
}

/**
 * Locks the team's row (its quotas: sandboxes holding capacity, creates and GB-hours of the day,
 * the running totals), after a share lock on its owner's row (the owner's erasure waits for it).
 * Answers whether the owner's account is live.
 */
export function lockTeam(tx: Tx, teamId: string): Promise<boolean> {
  return lock(tx, `t:${teamId}`, () => statements(tx).team.get(teamId))
}

/**
 * Takes turns with the other writers choosing from the names around `name` (a slug's base):
 * without it, N accounts creating "app" at once all read the same free slug, one insert wins and
 * the rest go round again — N rounds for the last. Held until COMMIT; the next holder's reads
 * see the names committed before it. Taken last, after any row lock, so it never waits in a cycle.
 */
export async function lockName(tx: Tx, kind: string, name: string): Promise<void> {
  const statement = statements(tx).name
  const held = heldBy(tx)
  const key = `n:${kind}:${name}`
  if (statement === null || held.has(key)) return
  await statement.get(`${kind}:${name}`)
  held.set(key, true)
}
