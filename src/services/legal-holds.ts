import { and, asc, eq, gt, isNotNull, isNull, lte, or } from 'drizzle-orm'
import { exec, many, one } from '../../db/query'
import { lockAccount } from '../../db/row-locks'
import { readTransaction, type Store, type Tx, writeTransaction } from '../../db/store'
import { accountDeletions, legalHolds, users } from '../../db/tables'
import { AppError } from '../errors'
import type { Clock } from '../lib/clock'
import { hashUserId } from '../lib/pseudonym'
import { recordAudit } from './audit'
import type { ErasureLedger, HoldEntry } from './erasure-ledger'
import { announceErasureRequested } from './erasure-processors'

export type LegalHoldRow = typeof legalHolds.$inferSelect

export interface LegalHoldDeps {
  store: Store
  clock: Clock
  erasureLedger?: ErasureLedger
}

/**
 * The one check every deletion path passes (services/deletion.ts: requestDeletion and
 * runDeletion, which DELETE /api/account, the /v1 delete and its grace purge, the operator's hard
 * delete, the retention reaper, the restore replay and the worker's resumption all go through).
 * A hold whose `until` has passed no longer holds.
 */
export async function activeHold(tx: Tx, userId: string, now: number): Promise<LegalHoldRow | undefined> {
  return one(
    tx
      .select()
      .from(legalHolds)
      .where(
        and(
          eq(legalHolds.userId, userId),
          isNull(legalHolds.releasedAt),
          or(isNull(legalHolds.until), gt(legalHolds.until, now)),
        ),
      ),
  )
}

/** Whether a hold row holds at `now`: not released, and its `until` (if any) not passed. */
const isStanding = (row: LegalHoldRow, now: number) =>
  row.releasedAt === null && (row.until === null || row.until > now)

export const legalHoldError = () =>
  new AppError(
    'LEGAL_HOLD',
    'The account is under a legal hold and cannot be erased now. The request is recorded and completes when the hold is released.',
  )

export interface HoldInput {
  reason: string
  until: number | null
  confidential: boolean
}

/**
 * Places (or changes) the account's hold. Taken under the account's row lock, as erasures are: an
 * erasure either sees the hold or has already begun — and one that has begun (Stripe stopped, data
 * going) cannot be held any more (409).
 */
export async function placeHold(
  deps: LegalHoldDeps,
  userId: string,
  input: HoldInput,
): Promise<LegalHoldRow> {
  const row = await writeTransaction(deps.store, async (tx) => {
    await lockAccount(tx, userId, 'update')
    const user = await one(
      tx.select({ id: users.id, erasing: users.erasureRequestedAt }).from(users).where(eq(users.id, userId)),
    )
    if (!user) throw new AppError('ACCOUNT_NOT_FOUND', 'No such account.')
    if (user.erasing !== null)
      throw new AppError('ERASURE_IN_PROGRESS', 'The account’s erasure is already under way.')
    const now = deps.clock.now()
    const existing = await one(tx.select().from(legalHolds).where(eq(legalHolds.userId, userId)))
    const values = {
      reason: input.reason,
      until: input.until,
      confidential: input.confidential,
      updatedAt: laterThan(existing, now),
    }
    // Changing a standing hold keeps when it was placed; a new one starts now.
    const placedAt = existing && isStanding(existing, now) ? existing.placedAt : now
    await exec(
      tx
        .insert(legalHolds)
        .values({ userId, placedAt, ...values })
        .onConflictDoUpdate({ target: legalHolds.userId, set: { ...values, placedAt, releasedAt: null } }),
    )
    await recordAudit(tx, deps.clock, userId, 'account.legal_hold_placed', {
      until: input.until,
      confidential: input.confidential,
    })
    return (await one(tx.select().from(legalHolds).where(eq(legalHolds.userId, userId)))) as LegalHoldRow
  })
  deps.erasureLedger?.appendHold(holdEntryOf(row))
  return row
}

/**
 * Every change of a hold gets a later `updated_at` than the one before, even within one clock tick:
 * after a restore the newer of database and ledger wins (services/hold-ledger.ts), and a tie would
 * leave a released hold standing.
 */
const laterThan = (existing: LegalHoldRow | undefined, now: number) =>
  existing ? Math.max(now, existing.updatedAt + 1) : now

/**
 * Releases the hold; the erasures it blocked go back to `requested`, and the worker completes them
 * at its next pass. False when there was none.
 */
export async function releaseHold(deps: LegalHoldDeps, userId: string): Promise<boolean> {
  const released = await writeTransaction(deps.store, async (tx) => {
    await lockAccount(tx, userId, 'update')
    const now = deps.clock.now()
    const existing = await one(tx.select().from(legalHolds).where(eq(legalHolds.userId, userId)))
    const result = await exec(
      tx
        .update(legalHolds)
        .set({ releasedAt: now, updatedAt: laterThan(existing, now) })
        .where(and(eq(legalHolds.userId, userId), isNull(legalHolds.releasedAt))),
    )
    if (result.changes === 0) return false
    await resumeBlocked(tx, deps.clock, userId)
    await recordAudit(tx, deps.clock, userId, 'account.legal_hold_released')
    return true
  })
  if (released) {
    const row = await readTransaction(deps.store, (tx) =>
      one(tx.select().from(legalHolds).where(eq(legalHolds.userId, userId))),
    )
    if (row) deps.erasureLedger?.appendHold(holdEntryOf(row))
  }
  return released
}

async function resumeBlocked(tx: Tx, clock: Clock, userId: string) {
  const now = clock.now()
  const resumed = await many(
    tx
      .update(accountDeletions)
      .set({ step: 'requested', nextAttemptAt: null, lockedUntil: null, lastError: null, updatedAt: now })
      .where(and(eq(accountDeletions.userId, userId), eq(accountDeletions.step, 'blocked_legal_hold')))
      .returning({ id: accountDeletions.id, mode: accountDeletions.mode }),
  )
  for (const job of resumed) await announceErasureRequested(tx, clock, userId, job.id, job.mode)
}

/** Worker: holds whose `until` has passed are released (their blocked erasures resume). */
export async function releaseLapsedHolds(deps: LegalHoldDeps): Promise<number> {
  const now = deps.clock.now()
  const lapsed = await readTransaction(deps.store, (tx) =>
    many(
      tx
        .select({ userId: legalHolds.userId })
        .from(legalHolds)
        .where(and(isNull(legalHolds.releasedAt), isNotNull(legalHolds.until), lte(legalHolds.until, now)))
        .limit(100),
    ),
  )
  let released = 0
  for (const { userId } of lapsed) if (await releaseHold(deps, userId)) released++
  return released
}

/** Standing holds, by user id, paged after `after`. */
export function listHolds(store: Store, limit: number, after: string | null) {
  return readTransaction(store, async (tx) => {
    const rows = await many(
      tx
        .select()
        .from(legalHolds)
        .where(and(isNull(legalHolds.releasedAt), after ? gt(legalHolds.userId, after) : undefined))
        .orderBy(asc(legalHolds.userId))
        .limit(limit + 1),
    )
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit }
  })
}

/** The account's standing hold, if any. */
export function holdOf(deps: LegalHoldDeps, userId: string) {
  return readTransaction(deps.store, (tx) => activeHold(tx, userId, deps.clock.now()))
}

export const holdEntryOf = (row: LegalHoldRow): HoldEntry => ({
  kind: 'hold',
  userHash: hashUserId(row.userId),
  reason: row.reason,
  confidential: row.confidential,
  until: row.until,
  placedAt: row.placedAt,
  releasedAt: row.releasedAt,
  at: row.updatedAt,
})
