import { and, desc, eq, inArray, isNotNull, lte, type SQL, sql } from 'drizzle-orm'
import { jsonFieldEquals } from '../../db/json-match'
import { exec, many, one } from '../../db/query'
import { lockTeam } from '../../db/row-locks'
import { rowReader, rowsOf } from '../../db/row-reader'
import type { SandboxStatus, TimeoutAction } from '../../db/schema'
import * as schema from '../../db/schema'
import {
  readTransaction,
  type Store,
  statementFor,
  statementsFor,
  type Tx,
  writeTransaction,
} from '../../db/store'
import { sandboxes } from '../../db/tables'
import { AppError } from '../errors'
import type { Clock } from '../lib/clock'
import { sandboxId } from '../lib/ids'
import { utcDay } from '../lib/time'
import { emitEvent } from './events'
import { lockLiveTeam } from './live-account'
import { addUsage } from './quota-usage'
import { ACTIVE_STATUSES, endRun, type SandboxRow } from './sandbox-lifecycle'
import { adjustTotals, runningGbHoursToday, type SandboxTotals, settledTotals } from './sandbox-totals'

export interface SandboxDeps {
  store: Store
  clock: Clock
}

export interface NewSandbox {
  template: string
  vcpus: number
  memoryMb: number
  diskMb: number | null
  timeoutMs: number | null
  timeoutAction: TimeoutAction
  metadata: Record<string, unknown> | null
}

const notFound = () => new AppError('SANDBOX_NOT_FOUND', 'No such sandbox in your team.')

type Tier = typeof schema.quotaTiers.$inferSelect

// The quota reads run inside every create: raw statements prepared once (db/row-reader.ts).
// A scalar subquery, not a JOIN: SQLite builds a Bloom filter for the join on every run, and the
// join measured 12.5 µs against 1.7 µs for this.
const tierOfTeam = rowsOf<typeof schema.quotaTiers, { team: string }>(
  schema.quotaTiers,
  'WHERE id = (SELECT quota_tier_id FROM teams WHERE id = $team)',
)
const sandboxRow = rowReader(schema.sandboxes)
// Raw (db/row-reader.ts: Drizzle's placeholders and row mapping were ~4 µs of every create). The
// metadata is bound as JSON text: PostgreSQL's json column is told so.
const insertSandboxSql = (metadata: string) =>
  `INSERT INTO sandboxes (id, team_id, user_id, template, status, vcpus, memory_mb, disk_mb, metadata,
     timeout_ms, timeout_action, timeout_at, started_at, charged_until, created_at, updated_at)
   VALUES ($id, $teamId, $userId, $template, 'running', $vcpus, $memoryMb, $diskMb, ${metadata},
     $timeoutMs, $timeoutAction, $timeoutAt, $now, $now, $now, $now)
   RETURNING ${sandboxRow.columns}`
const insertSandbox = statementsFor((db) =>
  db.prepare<Record<string, unknown>, [Record<string, string | number | null>]>(
    insertSandboxSql(db.words.json('$metadata')),
  ),
)
const usageOfDay = statementFor<{ team: string; day: string }>(
  'SELECT sandbox_creates AS "creates", gb_hours AS "gbHours" FROM quota_usage WHERE team_id = $team AND usage_date = $day',
)
/** What the team was charged on `day` so far (both zero before its first create of the day). */
async function usageOn(tx: Tx, teamId: string, day: string): Promise<{ creates: number; gbHours: number }> {
  const row = (await usageOfDay(tx).get({ team: teamId, day })) as { creates: number; gbHours: number } | null
  return row ?? { creates: 0, gbHours: 0 }
}
async function teamTier(tx: Tx, teamId: string): Promise<Tier> {
  const tier = await tierOfTeam.get(tx, { team: teamId })
  if (!tier) throw new Error(`team ${teamId} has no quota tier`)
  return tier
}

function quotaExceeded(message: string, limit: number, used: number, usageDate: string) {
  return new AppError('QUOTA_EXCEEDED', message, { detail: { limit, used, usage_date: usageDate } })
}

/**
 * Refuses when the team has used its GB-hours of the day: what was charged (`charged`, read here
 * unless the caller has it), plus what running sandboxes have used — from the team's running
 * totals, not a scan of its sandboxes (sandbox-totals.ts).
 */
async function checkGbHours(
  tx: Tx,
  teamId: string,
  tier: Tier,
  totals: SandboxTotals,
  now: number,
  charged?: number,
) {
  const used =
    (charged ?? (await usageOn(tx, teamId, utcDay(now))).gbHours) + runningGbHoursToday(totals, now)
  if (used >= tier.dailyGbHours)
    throw quotaExceeded(
      `Daily GB-hour quota exceeded (${used.toFixed(2)}/${tier.dailyGbHours} for ${utcDay(now)}).`,
      tier.dailyGbHours,
      Math.round(used * 1e6) / 1e6,
      utcDay(now),
    )
}

/**
 * Records a new running sandbox. The team's quotas — creates per UTC day, sandboxes holding
 * capacity, GB-hours of the day — are checked and the create is charged in the same write
 * transaction as the insert: concurrent creates cannot overshoot, and a create that fails is not
 * charged. The route's Idempotency-Key is claimed and settled in that transaction too (hooks).
 */
export function createSandbox(
  deps: SandboxDeps,
  userId: string,
  teamId: string,
  input: NewSandbox,
  hooks: {
    /** Runs first inside the create's transaction; false: create nothing and answer null. */
    claim?: (tx: Tx) => Promise<boolean>
    /** Runs last inside the create's transaction (the route stores its answer there). */
    created?: (tx: Tx, sandbox: SandboxRow) => void | Promise<void>
  } = {},
): Promise<SandboxRow | null> {
  return createWithinQuotas(deps, userId, teamId, input, hooks).catch(async (error) => {
    if (error instanceof AppError && error.code === 'QUOTA_EXCEEDED')
      await announceQuotaRefusal(deps, userId, teamId, error)
    throw error
  })
}

/**
 * Every refusal is counted by day and kind of limit (the console's overview); `sandbox.quota_exceeded`
 * goes out once a team, limit and UTC day per instance — a client retrying in a loop does not flood
 * the receivers. In its own transaction: the refused create rolled back, but the refusal happened.
 */
const announcedRefusals = new Set<string>()

async function announceQuotaRefusal(deps: SandboxDeps, userId: string, teamId: string, error: AppError) {
  const detail = error.options.detail as { limit: number; used: number; usage_date: string }
  const quota = error.message.startsWith('Concurrent')
    ? 'concurrent_sandboxes'
    : error.message.includes('GB-hour')
      ? 'daily_gb_hours'
      : 'daily_creates'
  const key = `${teamId}:${detail.usage_date}:${quota}`
  const announce = !announcedRefusals.has(key)
  if (announce) {
    if (announcedRefusals.size > 10_000) announcedRefusals.clear()
    announcedRefusals.add(key)
  }
  await writeTransaction(deps.store, async (tx) => {
    await countQuotaRefusal(tx).run({ day: detail.usage_date, quota })
    if (announce)
      await emitEvent(tx, deps.clock, 'sandbox.quota_exceeded', userId, {
        user_id: userId,
        team_id: teamId,
        quota,
        limit: detail.limit,
        used: detail.used,
        usage_date: detail.usage_date,
      })
  }).catch(() => announcedRefusals.delete(key))
}

const countQuotaRefusal = statementFor<{ day: string; quota: string }>(
  `INSERT INTO quota_refusals (usage_date, quota, refusals) VALUES ($day, $quota, 1)
   ON CONFLICT (usage_date, quota) DO UPDATE SET refusals = quota_refusals.refusals + 1`,
)

function createWithinQuotas(
  deps: SandboxDeps,
  userId: string,
  teamId: string,
  input: NewSandbox,
  hooks: Parameters<typeof createSandbox>[4] = {},
): Promise<SandboxRow | null> {
  return writeTransaction(deps.store, async (tx) => {
    // The quotas are the team's: checked and charged under its row lock (db/row-locks.ts). Taken
    // first; the claim's share lock on the account is then already held.
    await lockLiveTeam(tx, teamId)
    const now = deps.clock.now()
    const day = utcDay(now)
    // The claim and the reads the checks need, sent together: on PostgreSQL one round trip
    // instead of four (a connection's statements are pipelined and run in the order sent). Each
    // runs after the lock and none depends on another, so their order does not matter. A claim
    // that is not ours (a replay) wasted three reads, and at most settled the team's totals.
    const [claimed, tier, usage, totals] = await Promise.all([
      hooks.claim ? hooks.claim(tx) : true,
      teamTier(tx, teamId),
      usageOn(tx, teamId, day),
      settledTotals(tx, teamId, now),
    ])
    if (!claimed) return null
    const creates = usage.creates
    if (creates >= tier.dailySandboxCreates)
      throw quotaExceeded(
        `Daily sandbox create quota exceeded (${creates}/${tier.dailySandboxCreates} for ${day}).`,
        tier.dailySandboxCreates,
        creates,
        day,
      )
    const active = totals.active
    if (active >= tier.maxConcurrentSandboxes)
      throw quotaExceeded(
        `Concurrent sandbox quota exceeded (${active}/${tier.maxConcurrentSandboxes}).`,
        tier.maxConcurrentSandboxes,
        active,
        day,
      )
    await checkGbHours(tx, teamId, tier, totals, now, usage.gbHours)
    // The charge and the insert, independent of each other: sent together too.
    const [, , inserted] = await Promise.all([
      addUsage(tx, teamId, day, { sandboxCreates: 1 }, now),
      adjustTotals(tx, teamId, now, { active: 1, runningMemoryMb: input.memoryMb, chargedFrom: now }),
      insertSandbox(tx).get({
        id: sandboxId(),
        teamId,
        userId,
        template: input.template,
        vcpus: input.vcpus,
        memoryMb: input.memoryMb,
        diskMb: input.diskMb,
        metadata: input.metadata === null ? null : JSON.stringify(input.metadata),
        timeoutMs: input.timeoutMs,
        timeoutAction: input.timeoutAction,
        timeoutAt: input.timeoutMs === null ? null : now + input.timeoutMs,
        now,
      }),
    ])
    const sandbox = sandboxRow.decode(inserted as Record<string, unknown>) as SandboxRow
    await hooks.created?.(tx, sandbox)
    return sandbox
  })
}

const sandboxOfTeam = rowsOf<typeof schema.sandboxes, { id: string; team: string }>(
  schema.sandboxes,
  'WHERE id = $id AND team_id = $team',
)

/** The team's sandbox, or SANDBOX_NOT_FOUND. Inside a transaction too (same connection). */
async function ownSandbox(tx: Tx, teamId: string, id: string): Promise<SandboxRow> {
  const row = await sandboxOfTeam.get(tx, { id, team: teamId })
  if (!row) throw notFound()
  return row
}

/** `ownSandbox` for a change: under the team's row lock first (its totals change with it). */
async function ownSandboxToChange(tx: Tx, teamId: string, id: string): Promise<SandboxRow> {
  await lockTeam(tx, teamId)
  return ownSandbox(tx, teamId, id)
}

export function getSandbox(store: Store, teamId: string, id: string): Promise<SandboxRow> {
  return readTransaction(store, (tx) => ownSandbox(tx, teamId, id))
}

/** Destroys a sandbox (charging what ran); destroying one already gone is a no-op. */
export function destroySandbox(deps: SandboxDeps, teamId: string, id: string): Promise<SandboxRow> {
  return writeTransaction(deps.store, async (tx) => {
    const sandbox = await ownSandboxToChange(tx, teamId, id)
    if (sandbox.status === 'destroyed' || sandbox.status === 'error') return sandbox
    return endRun(tx, sandbox, 'destroyed', deps.clock.now())
  })
}

const wrongState = (sandbox: SandboxRow, action: string) =>
  new AppError('CONFLICT', `Cannot ${action} a sandbox that is ${sandbox.status}.`, {
    detail: { status: sandbox.status },
  })

/** running → paused: the running segment is charged; nothing accrues while paused. */
export function hibernateSandbox(deps: SandboxDeps, teamId: string, id: string): Promise<SandboxRow> {
  return writeTransaction(deps.store, async (tx) => {
    const sandbox = await ownSandboxToChange(tx, teamId, id)
    if (sandbox.status === 'paused') return sandbox
    if (sandbox.status !== 'running') throw wrongState(sandbox, 'hibernate')
    return endRun(tx, sandbox, 'paused', deps.clock.now())
  })
}

/** paused → running, if the day's GB-hours allow; the timeout starts again. */
export function resumeSandbox(deps: SandboxDeps, teamId: string, id: string): Promise<SandboxRow> {
  return writeTransaction(deps.store, async (tx) => {
    const sandbox = await ownSandboxToChange(tx, teamId, id)
    if (sandbox.status === 'running') return sandbox
    if (sandbox.status !== 'paused') throw wrongState(sandbox, 'resume')
    const now = deps.clock.now()
    await checkGbHours(tx, teamId, await teamTier(tx, teamId), await settledTotals(tx, teamId, now), now)
    await adjustTotals(tx, teamId, now, { runningMemoryMb: sandbox.memoryMb, chargedFrom: now })
    return (await one(
      tx
        .update(sandboxes)
        .set({
          status: 'running',
          chargedUntil: now,
          updatedAt: now,
          timeoutAt: sandbox.timeoutMs === null ? null : now + sandbox.timeoutMs,
        })
        .where(eq(sandboxes.id, id))
        .returning(),
    )) as SandboxRow
  })
}

/** Sets a new timeout from now (and optionally what happens then). */
export function setSandboxTimeout(
  deps: SandboxDeps,
  teamId: string,
  id: string,
  timeoutMs: number,
  action?: TimeoutAction,
): Promise<SandboxRow> {
  return writeTransaction(deps.store, async (tx) => {
    const sandbox = await ownSandboxToChange(tx, teamId, id)
    if (!ACTIVE_STATUSES.includes(sandbox.status)) throw wrongState(sandbox, 'set the timeout of')
    const now = deps.clock.now()
    return (await one(
      tx
        .update(sandboxes)
        .set({
          timeoutMs,
          timeoutAt: now + timeoutMs,
          timeoutAction: action ?? sandbox.timeoutAction,
          updatedAt: now,
        })
        .where(eq(sandboxes.id, id))
        .returning(),
    )) as SandboxRow
  })
}

/**
 * The sweeper: sandboxes whose timeout has passed are destroyed, or paused for `hibernate`. Their
 * GB-hours are charged up to the deadline, not to whenever the sweeper got round to them.
 */
export async function sweepExpiredSandboxes(deps: SandboxDeps, batch = 500): Promise<number> {
  // One short write transaction per batch, so a backlog never holds the writer lock for long.
  let swept = 0
  for (;;) {
    const n = await sweepBatch(deps, batch)
    swept += n
    if (n < batch) return swept
  }
}

/**
 * Live sandboxes whose deadline has passed. `timeout_at IS NOT NULL` is spelt out so SQLite may use
 * the partial `sandboxes_timeout_idx`, which holds only sandboxes with a timeout.
 */
export const expiredSandboxes = (tx: Tx, now: number, batch: number) =>
  tx
    .select()
    .from(sandboxes)
    .where(
      and(
        inArray(sandboxes.status, ['running', 'creating'] as SandboxStatus[]),
        isNotNull(sandboxes.timeoutAt),
        lte(sandboxes.timeoutAt, now),
      ),
    )
    .limit(batch)

function sweepBatch(deps: SandboxDeps, batch: number): Promise<number> {
  return writeTransaction(deps.store, async (tx) => {
    const now = deps.clock.now()
    const expired = await many(expiredSandboxes(tx, now, batch))
    for (const found of expired) {
      // Read again under the team's lock: a destroy or resume may have changed it since.
      const sandbox = await ownSandboxToChange(tx, found.teamId, found.id)
      if (
        !['running', 'creating'].includes(sandbox.status) ||
        sandbox.timeoutAt === null ||
        sandbox.timeoutAt > now
      )
        continue
      const stopAt = Math.max(sandbox.chargedUntil ?? 0, Math.min(now, sandbox.timeoutAt as number))
      const ended = await endRun(
        tx,
        sandbox,
        sandbox.timeoutAction === 'hibernate' ? 'paused' : 'destroyed',
        stopAt,
      )
      await exec(
        tx.update(sandboxes).set({ updatedAt: now, timeoutAt: null }).where(eq(sandboxes.id, ended.id)),
      )
    }
    return expired.length
  })
}

export { ACTIVE_STATUSES }

/**
 * A page of the team's sandboxes, newest first: with or without a state, with or without a
 * cursor. Raw statements read through `rowReader` (Drizzle's row mapping was a quarter of a page);
 * parameters are `+$name` beside the ORDER BY (db/sqlite/stable-plans.ts).
 */
const pageStatements = [false, true].flatMap((byState) =>
  [false, true].map((afterCursor) =>
    statementFor<{ team: string; status?: string; afterAt?: number; afterId?: string; limit: number }>(
      `SELECT ${sandboxRow.columns} FROM sandboxes WHERE team_id = +$team` +
        (byState ? ' AND status = +$status' : '') +
        (afterCursor ? ' AND (created_at, id) < (+$afterAt, +$afterId)' : '') +
        ' ORDER BY created_at DESC, id DESC LIMIT +$limit',
    ),
  ),
)
const pageStatement = (tx: Tx, byState: boolean, afterCursor: boolean) =>
  (pageStatements[(byState ? 2 : 0) + (afterCursor ? 1 : 0)] as (typeof pageStatements)[number])(tx)

export interface SandboxFilter {
  states?: SandboxStatus[]
  template?: string
  /** Each key must equal this value in the sandbox's metadata. */
  metadata?: Record<string, unknown>
  limit: number
  /** Keyset cursor: rows strictly after this one (newest first). */
  after?: { createdAt: number; id: string }
}

/** A metadata key usable in a JSON path (the filter refuses anything else). */
export const METADATA_KEY = /^[A-Za-z0-9_.:-]{1,64}$/

/**
 * A page of the team's sandboxes, newest first, keyset-paged on (created_at, id): walking the
 * pages returns each sandbox exactly once, even while new ones are created (they sort before the
 * cursor and are not revisited).
 */
export function listSandboxes(store: Store, teamId: string, filter: SandboxFilter) {
  return readTransaction(store, (tx) => sandboxPage(tx, teamId, filter))
}

async function sandboxPage(tx: Tx, teamId: string, filter: SandboxFilter) {
  const conditions = [eq(sandboxes.teamId, teamId)]
  if (filter.template) conditions.push(eq(sandboxes.template, filter.template))
  for (const [key, value] of Object.entries(filter.metadata ?? {}))
    conditions.push(...jsonFieldEquals(tx, sandboxes.metadata, key, value))
  if (filter.after)
    // A row value, so SQLite seeks the index to the cursor instead of scanning down to it.
    conditions.push(
      sql`(${sandboxes.createdAt}, ${sandboxes.id}) < (${filter.after.createdAt}, ${filter.after.id})`,
    )
  // Without template or metadata filters (the common pages), one of four prepared statements:
  // building the query cost more than running it.
  const plain = !filter.template && !filter.metadata
  const newest = async (where: SQL[], state?: SandboxStatus) =>
    plain
      ? (
          await pageStatement(tx, state !== undefined, filter.after !== undefined).all({
            team: teamId,
            ...(state !== undefined && { status: state }),
            ...(filter.after && { afterAt: filter.after.createdAt, afterId: filter.after.id }),
            limit: filter.limit + 1,
          })
        ).map(sandboxRow.decode)
      : await many(
          tx
            .select()
            .from(sandboxes)
            .where(and(...where))
            .orderBy(desc(sandboxes.createdAt), desc(sandboxes.id))
            .limit(filter.limit + 1),
        )
  // One index-ordered query per state, merged here: a single `status IN (…)` query makes SQLite
  // walk the team's whole history in list order to find the few live rows among the destroyed.
  const states = [...new Set(filter.states ?? [])]
  const rows = states.length
    ? (await Promise.all(states.map((state) => newest([...conditions, eq(sandboxes.status, state)], state))))
        .flat()
        .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
        .slice(0, filter.limit + 1)
    : await newest(conditions)
  const hasMore = rows.length > filter.limit
  const page = hasMore ? rows.slice(0, filter.limit) : rows
  const last = page.at(-1)
  return { rows: page, next: hasMore && last ? { createdAt: last.createdAt, id: last.id } : null }
}
