import { and, eq, isNull, lt, lte, or, sql } from 'drizzle-orm'
import { exec, many } from '../../db/query'
import { readTransaction, type Store, writeTransaction } from '../../db/store'
import { legalHolds, sandboxes, teams, users } from '../../db/tables'
import type { BillingPort } from '../billing/port'
import type { Config } from '../config'
import type { Clock } from '../lib/clock'
import { errorFields, type Logger } from '../lib/logger'
import { hashUserId } from '../lib/pseudonym'
import { startOfUtcDay, toRfc3339 } from '../lib/time'
import { recordAudit } from './audit'
import { emitEvent } from './events'
import { ACTIVE_STATUSES } from './sandbox-lifecycle'
import { softDeleteAccount } from './soft-delete'

/**
 * Retention of inactive accounts (RETENTION_INACTIVE_DAYS; off by default). An account with no
 * authenticated request and no running sandbox for (inactive − warning) days is warned
 * (`account.inactivity_warning`); still unused `warning` days later it is scheduled for deletion
 * the ordinary /v1 way (grace period, restorable), then erased by the grace purge. Held accounts
 * and operators are skipped. Any authenticated request clears the warning (ActivityTracker).
 */
export interface RetentionDeps {
  store: Store
  clock: Clock
  billing: BillingPort | null
  logger: Logger
  config: Pick<Config, 'retention' | 'deletionGraceDays'>
}

export interface RetentionCandidate {
  userId: string
  lastActiveAt: number
  warnedAt: number | null
  /** When the account is (or would be) scheduled for deletion. */
  deletionScheduledAt: number
  /** What the next pass does to it. */
  action: 'warn' | 'schedule_deletion' | 'none'
}

const BATCH = 100

/**
 * Accounts inactive since before `cutoff`, unwarned (warned: false) or warned before `warnedBefore`.
 * `after` pages the admin list by id. The worker's passes take any `limit` of them unordered: with
 * an ORDER BY, SQLite's stable plans (db/sqlite/stable-plans.ts) keep the planner from weighing the
 * bound cutoff, and it read every user in id order (9 ms a pass at 100,000 users) instead of the
 * index's range (0.03 ms).
 */
function inactiveAccounts(
  store: Store,
  now: number,
  filter: { warned: false; cutoff: number } | { warned: true; warnedBefore: number },
  limit: number,
  after: string | null | 'unordered',
) {
  const paged = after !== 'unordered'
  // Set at creation (and backfilled from it, migration 0012): a range of users_inactivity_idx.
  const lastActive = sql<number>`${users.lastActiveAt}`
  return readTransaction(store, (tx) =>
    many(
      tx
        .select({ userId: users.id, lastActiveAt: lastActive, warnedAt: users.inactivityWarnedAt })
        .from(users)
        .where(
          and(
            filter.warned
              ? lte(users.inactivityWarnedAt, filter.warnedBefore)
              : and(isNull(users.inactivityWarnedAt), lte(users.lastActiveAt, filter.cutoff)),
            isNull(users.softDeletedAt),
            isNull(users.erasureRequestedAt),
            eq(users.isOperator, false),
            paged && after ? sql`${users.id} > ${after}` : undefined,
            sql`NOT EXISTS (SELECT 1 FROM ${legalHolds} WHERE ${legalHolds.userId} = ${users.id} AND ${legalHolds.releasedAt} IS NULL AND (${legalHolds.until} IS NULL OR ${legalHolds.until} > ${now}))`,
            sql`NOT EXISTS (SELECT 1 FROM ${sandboxes} JOIN ${teams} ON ${teams.id} = ${sandboxes.teamId} WHERE ${teams.ownerUserId} = ${users.id} AND ${sandboxes.status} IN (${sql.join(
              ACTIVE_STATUSES.map((s) => sql`${s}`),
              sql`, `,
            )}))`,
          ),
        )
        .orderBy(...(paged ? [users.id] : []))
        .limit(limit),
    ),
  )
}

/** One pass: warn the newly inactive, schedule the deletion of the warned who stayed away. */
export async function applyRetention(deps: RetentionDeps): Promise<{ warned: number; scheduled: number }> {
  const policy = deps.config.retention
  if (!policy) return { warned: 0, scheduled: 0 }
  const now = deps.clock.now()
  let warned = 0
  for (const account of await inactiveAccounts(
    deps.store,
    now,
    { warned: false, cutoff: now - (policy.inactiveMs - policy.warningMs) },
    BATCH,
    'unordered',
  )) {
    const changed = await writeTransaction(deps.store, async (tx) => {
      const result = await exec(
        tx
          .update(users)
          .set({ inactivityWarnedAt: now })
          .where(and(eq(users.id, account.userId), isNull(users.inactivityWarnedAt))),
      )
      if (result.changes === 0) return false
      await recordAudit(tx, deps.clock, account.userId, 'account.inactivity_warned')
      await emitEvent(tx, deps.clock, 'account.inactivity_warning', account.userId, {
        user_id: account.userId,
        last_active_at: toRfc3339(Number(account.lastActiveAt)),
        deletion_scheduled_at: toRfc3339(now + policy.warningMs),
      })
      return true
    })
    if (changed) warned++
  }
  let scheduled = 0
  for (const account of await inactiveAccounts(
    deps.store,
    now,
    { warned: true, warnedBefore: now - policy.warningMs },
    BATCH,
    'unordered',
  ))
    try {
      // The same two stages as a user's own /v1 delete: Stripe set to cancel, grace, then the purge.
      await softDeleteAccount(deps, account.userId)
      scheduled++
    } catch (error) {
      deps.logger.warn('could not schedule an inactive account for deletion', {
        userHash: hashUserId(account.userId),
        ...errorFields(error),
      })
    }
  return { warned, scheduled }
}

/** GET /v1/admin/retention: the warned accounts, or with `dryRun` every account a pass would touch. */
export async function retentionList(
  deps: RetentionDeps,
  options: { dryRun: boolean; limit: number; after: string | null },
): Promise<{ rows: RetentionCandidate[]; hasMore: boolean }> {
  const policy = deps.config.retention
  const now = deps.clock.now()
  const warning = policy?.warningMs ?? 0
  const rows: RetentionCandidate[] = []
  const warnedRows = await inactiveAccounts(
    deps.store,
    now,
    { warned: true, warnedBefore: Number.MAX_SAFE_INTEGER },
    options.limit + 1,
    options.after,
  )
  for (const r of warnedRows)
    rows.push({
      userId: r.userId,
      lastActiveAt: Number(r.lastActiveAt),
      warnedAt: r.warnedAt,
      deletionScheduledAt: (r.warnedAt as number) + warning,
      action: (r.warnedAt as number) + warning <= now ? 'schedule_deletion' : 'none',
    })
  if (options.dryRun && policy) {
    const toWarn = await inactiveAccounts(
      deps.store,
      now,
      { warned: false, cutoff: now - (policy.inactiveMs - policy.warningMs) },
      options.limit + 1,
      options.after,
    )
    for (const r of toWarn)
      rows.push({
        userId: r.userId,
        lastActiveAt: Number(r.lastActiveAt),
        warnedAt: null,
        deletionScheduledAt: now + policy.warningMs,
        action: 'warn',
      })
    rows.sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
  }
  return { rows: rows.slice(0, options.limit), hasMore: rows.length > options.limit }
}

/**
 * Keeps each account's last activity — the start of the UTC day of its last authenticated request —
 * without a write per request: at most one per account per day and process (a read first; the
 * write only when the day changed). A warning of inactivity is cleared by the same write.
 */
export class ActivityTracker {
  private readonly seen = new Map<string, number>()

  constructor(private readonly deps: { store: Store; clock: Clock; logger: Logger }) {}

  note(userId: string) {
    const today = startOfUtcDay(this.deps.clock.now())
    if ((this.seen.get(userId) ?? 0) >= today) return
    if (this.seen.size >= 100_000) this.seen.clear()
    this.seen.set(userId, today)
    this.record(userId, today).catch((error) => {
      this.seen.delete(userId)
      this.deps.logger.debug('could not record an account’s activity', errorFields(error))
    })
  }

  private async record(userId: string, today: number) {
    const stale = or(isNull(users.lastActiveAt), lt(users.lastActiveAt, today))
    const due = await readTransaction(this.deps.store, (tx) =>
      many(
        tx
          .select({ id: users.id })
          .from(users)
          .where(and(eq(users.id, userId), stale)),
      ),
    )
    if (due.length === 0) return
    await writeTransaction(this.deps.store, (tx) =>
      exec(
        tx
          .update(users)
          .set({ lastActiveAt: today, inactivityWarnedAt: null })
          .where(and(eq(users.id, userId), stale)),
      ),
    )
  }
}
