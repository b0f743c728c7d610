import { and, asc, count, eq, gt, inArray, isNotNull, isNull, lt, lte, or, sql } from 'drizzle-orm'
import { exec, many, one } from '../../db/query'
import type { RequestStatus, RequestType } from '../../db/schema'
import { readTransaction, type Store, type Tx, writeTransaction } from '../../db/store'
import { dataRequests, users } from '../../db/tables'
import { AppError } from '../errors'
import { type Clock, DAY } from '../lib/clock'
import { normaliseEmail } from '../lib/email'
import { uuidv7 } from '../lib/ids'
import { pausedDaysOf, requestDueAt } from '../lib/legal-clock'
import { hashUserId } from '../lib/pseudonym'
import { emitEvent } from './events'

export type DataRequestRow = typeof dataRequests.$inferSelect

export const REQUEST_TYPES: RequestType[] = [
  'access',
  'portability',
  'erasure',
  'rectification',
  'restriction',
  'objection',
]
export const REQUEST_STATUSES = [
  'received',
  'identity_pending',
  'in_progress',
  'extended',
  'fulfilled',
  'refused',
  'withdrawn',
] as const satisfies readonly RequestStatus[]
const CLOSED: RequestStatus[] = ['fulfilled', 'refused', 'withdrawn']
const OPEN: RequestStatus[] = ['received', 'identity_pending', 'in_progress', 'extended']

export interface RequestDeps {
  store: Store
  clock: Clock
}

export interface NewRequest {
  type: RequestType
  userId?: string
  email?: string
  receivedAt?: number
  channel?: string | null
  note?: string | null
}

/**
 * Records a request as received. An email that belongs to an account is recorded as that account
 * (and the email is not kept twice); one that belongs to none is kept on the request itself.
 */
export async function createRequest(deps: RequestDeps, input: NewRequest): Promise<DataRequestRow> {
  const now = deps.clock.now()
  const receivedAt = input.receivedAt ?? now
  if (receivedAt > now)
    throw new AppError('VALIDATION_FAILED', 'Validation failed: received_at: must not be in the future', {
      issues: [{ path: ['received_at'], message: 'must not be in the future' }],
    })
  return writeTransaction(deps.store, async (tx) => {
    let userId = input.userId ?? null
    let email = input.email ? normaliseEmail(input.email) : null
    if (userId) {
      const user = await one(tx.select({ id: users.id }).from(users).where(eq(users.id, userId)))
      if (!user) throw new AppError('ACCOUNT_NOT_FOUND', 'No such account.')
    } else if (email) {
      const user = await one(tx.select({ id: users.id }).from(users).where(eq(users.email, email)))
      if (user) {
        userId = user.id
        email = null
      }
    }
    return insertRequest(tx, now, {
      type: input.type,
      status: 'received',
      userId,
      email,
      channel: input.channel ?? null,
      note: input.note ?? null,
      receivedAt,
    })
  })
}

function insertRequest(
  tx: Tx,
  now: number,
  values: Pick<DataRequestRow, 'type' | 'status' | 'userId' | 'email' | 'channel' | 'note' | 'receivedAt'> &
    Partial<DataRequestRow>,
) {
  return one(
    tx
      .insert(dataRequests)
      .values({
        id: `dsr_${uuidv7({ now: () => now })}`,
        userHash: values.userId ? hashUserId(values.userId) : null,
        dueAt: requestDueAt(values.receivedAt, 0, 0),
        createdAt: now,
        updatedAt: now,
        ...values,
      })
      .returning(),
  ) as Promise<DataRequestRow>
}

/**
 * A request the account holder made through the API and that was answered by it: an export
 * download (access) and an erasure (`DELETE /api/account`; the /v1 delete, answered when its
 * grace period ends). Written in the transaction of the action it records.
 */
export async function recordApiRequest(
  tx: Tx,
  clock: Clock,
  userId: string,
  type: RequestType,
  outcome: { fulfilled: boolean; exportId?: string },
) {
  const now = clock.now()
  await insertRequest(tx, now, {
    exportId: outcome.exportId ?? null,
    type,
    status: outcome.fulfilled ? 'fulfilled' : 'in_progress',
    userId,
    email: null,
    channel: 'api',
    note: null,
    receivedAt: now,
    startedAt: now,
    closedAt: outcome.fulfilled ? now : null,
  })
}

/** The account holder's erasure request (through the API), unless one is open already. */
export async function ensureErasureRequest(tx: Tx, clock: Clock, userId: string) {
  const open = await one(
    tx
      .select({ id: dataRequests.id })
      .from(dataRequests)
      .where(
        and(
          eq(dataRequests.userId, userId),
          eq(dataRequests.type, 'erasure'),
          inArray(dataRequests.status, OPEN),
        ),
      ),
  )
  if (!open) await recordApiRequest(tx, clock, userId, 'erasure', { fulfilled: false })
}

/** The open erasure requests of an account take the erasure that answers them. */
export async function linkErasure(tx: Tx, userId: string, erasureId: string) {
  await exec(
    tx
      .update(dataRequests)
      .set({ erasureId })
      .where(
        and(
          eq(dataRequests.userId, userId),
          eq(dataRequests.type, 'erasure'),
          inArray(dataRequests.status, OPEN),
          isNull(dataRequests.erasureId),
        ),
      ),
  )
}

/**
 * At the erasure, in its last transaction: the account's requests keep their pseudonym, type,
 * dates and outcome only. What the person wrote or was told (notes, reasons) goes with the account.
 */
export async function pseudonymiseRequests(tx: Tx, userId: string) {
  await exec(
    tx
      .update(dataRequests)
      .set({ userId: null, email: null, note: null, extensionReason: null, outcomeReason: null })
      .where(eq(dataRequests.userId, userId)),
  )
}

/** When the erasure is done: the erasure requests it answered are fulfilled. */
export async function fulfilErasureRequests(tx: Tx, erasureId: string, userHash: string, now: number) {
  await exec(
    tx
      .update(dataRequests)
      .set({ status: 'fulfilled', erasureId, closedAt: now, pausedSince: null, updatedAt: now })
      .where(
        and(
          eq(dataRequests.type, 'erasure'),
          inArray(dataRequests.status, OPEN),
          or(
            eq(dataRequests.erasureId, erasureId),
            and(eq(dataRequests.userHash, userHash), isNull(dataRequests.userId)),
          ),
        ),
      ),
  )
}

/** When an archive is ready: the access request it answers is fulfilled. */
export async function fulfilExportRequests(tx: Tx, exportId: string, now: number) {
  await exec(
    tx
      .update(dataRequests)
      .set({ status: 'fulfilled', closedAt: now, updatedAt: now })
      .where(and(eq(dataRequests.exportId, exportId), inArray(dataRequests.status, OPEN))),
  )
}

/** A /v1 deletion cancelled by a restore: its open erasure request is withdrawn. */
export async function withdrawErasureRequests(tx: Tx, userId: string, now: number) {
  await exec(
    tx
      .update(dataRequests)
      .set({
        status: 'withdrawn',
        closedAt: now,
        outcomeReason: 'restored by the account holder',
        updatedAt: now,
      })
      .where(
        and(
          eq(dataRequests.userId, userId),
          eq(dataRequests.type, 'erasure'),
          inArray(dataRequests.status, OPEN),
        ),
      ),
  )
}

export type Transition = 'verify-identity' | 'start' | 'extend' | 'fulfil' | 'refuse' | 'withdraw'

export interface TransitionInput {
  /** verify-identity: false while identity is being checked (the clock pauses), true once it is. */
  verified?: boolean
  /** extend: 1 or 2 months, once. */
  months?: number
  reason?: string | null
  exportId?: string | null
  erasureId?: string | null
}

/** Moves a request along; every move is checked against its current status (409 when it cannot). */
export async function transitionRequest(
  deps: RequestDeps,
  id: string,
  transition: Transition,
  input: TransitionInput,
): Promise<DataRequestRow> {
  return writeTransaction(deps.store, async (tx) => {
    const row = await one(tx.select().from(dataRequests).where(eq(dataRequests.id, id)))
    if (!row) throw new AppError('NOT_FOUND', 'No such request.')
    const now = deps.clock.now()
    if (CLOSED.includes(row.status))
      throw new AppError(
        'CONFLICT',
        `The request is already ${row.status}; a closed case does not move again.`,
      )
    const change = nextState(row, transition, input, now)
    const next = { ...row, ...change }
    next.dueAt = requestDueAt(next.receivedAt, next.extendedMonths, next.pausedDays)
    const updated = await one(
      tx
        .update(dataRequests)
        .set({ ...change, dueAt: next.dueAt, updatedAt: now })
        .where(eq(dataRequests.id, id))
        .returning(),
    )
    return updated as DataRequestRow
  })
}

const conflict = (message: string) => new AppError('CONFLICT', message)
const needReason = (what: string) =>
  new AppError('VALIDATION_FAILED', `Validation failed: reason: ${what} needs a reason`, {
    issues: [{ path: ['reason'], message: `${what} needs a reason` }],
  })

/** The status after the pause ends: where the case stood before it. */
const resumedStatus = (row: DataRequestRow): RequestStatus =>
  row.extendedMonths > 0 ? 'extended' : row.startedAt !== null ? 'in_progress' : 'received'

function endPause(row: DataRequestRow, now: number): Partial<DataRequestRow> {
  if (row.pausedSince === null) return {}
  return { pausedSince: null, pausedDays: row.pausedDays + pausedDaysOf(now - row.pausedSince) }
}

function nextState(
  row: DataRequestRow,
  transition: Transition,
  input: TransitionInput,
  now: number,
): Partial<DataRequestRow> {
  switch (transition) {
    case 'verify-identity':
      if (input.verified === false) {
        if (row.status === 'identity_pending') throw conflict('Identity is already being verified.')
        return { status: 'identity_pending', pausedSince: now }
      }
      if (row.status !== 'identity_pending') throw conflict('Identity verification was not requested.')
      return { ...endPause(row, now), status: resumedStatus(row) }
    case 'start':
      if (row.status !== 'received') throw conflict(`A ${row.status} request cannot be started.`)
      return { status: 'in_progress', startedAt: now }
    case 'extend': {
      if (row.extendedMonths > 0) throw conflict('A request can be extended once only (GDPR Art. 12(3)).')
      if (row.status === 'identity_pending')
        throw conflict('Verify the identity before extending the deadline.')
      if (!input.reason) throw needReason('an extension')
      const months = input.months ?? 2
      if (months !== 1 && months !== 2)
        throw new AppError('VALIDATION_FAILED', 'Validation failed: months: must be 1 or 2', {
          issues: [{ path: ['months'], message: 'must be 1 or 2' }],
        })
      return {
        status: 'extended',
        extendedMonths: months,
        extensionReason: input.reason,
        startedAt: row.startedAt ?? now,
      }
    }
    case 'fulfil':
      return {
        ...endPause(row, now),
        status: 'fulfilled',
        closedAt: now,
        exportId: input.exportId ?? row.exportId,
        erasureId: input.erasureId ?? row.erasureId,
        outcomeReason: input.reason ?? null,
      }
    case 'refuse':
      if (!input.reason) throw needReason('a refusal')
      return { ...endPause(row, now), status: 'refused', closedAt: now, outcomeReason: input.reason }
    case 'withdraw':
      return {
        ...endPause(row, now),
        status: 'withdrawn',
        closedAt: now,
        outcomeReason: input.reason ?? null,
      }
  }
}

export interface RequestFilter {
  status?: RequestStatus
  overdue?: boolean
  dueBefore?: number
}

/** Requests by deadline (soonest first), paged after (dueAt, id). */
export function listRequests(
  deps: RequestDeps,
  filter: RequestFilter,
  limit: number,
  after: { dueAt: number; id: string } | null,
) {
  const now = deps.clock.now()
  return readTransaction(deps.store, async (tx) => {
    const rows = await many(
      tx
        .select()
        .from(dataRequests)
        .where(
          and(
            filter.status ? eq(dataRequests.status, filter.status) : undefined,
            filter.overdue ? and(inArray(dataRequests.status, OPEN), lt(dataRequests.dueAt, now)) : undefined,
            filter.dueBefore !== undefined ? lte(dataRequests.dueAt, filter.dueBefore) : undefined,
            after
              ? or(
                  gt(dataRequests.dueAt, after.dueAt),
                  and(eq(dataRequests.dueAt, after.dueAt), gt(dataRequests.id, after.id)),
                )
              : undefined,
          ),
        )
        .orderBy(asc(dataRequests.dueAt), asc(dataRequests.id))
        .limit(limit + 1),
    )
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit }
  })
}

export function getRequest(deps: RequestDeps, id: string) {
  return readTransaction(deps.store, (tx) =>
    one(tx.select().from(dataRequests).where(eq(dataRequests.id, id))),
  )
}

export const isOverdue = (row: DataRequestRow, now: number) => OPEN.includes(row.status) && row.dueAt < now

/** Open requests past their deadline, and due within the next 7 days (gauges, the console). */
export async function requestDeadlines(tx: Tx, now: number) {
  const counted = async (where: ReturnType<typeof and>) =>
    Number((await one(tx.select({ n: count() }).from(dataRequests).where(where)))?.n ?? 0)
  return {
    overdue: await counted(and(inArray(dataRequests.status, OPEN), lt(dataRequests.dueAt, now))),
    dueWithin7Days: await counted(
      and(
        inArray(dataRequests.status, OPEN),
        sql`${dataRequests.dueAt} >= ${now}`,
        lte(dataRequests.dueAt, now + 7 * DAY),
      ),
    ),
  }
}

/**
 * Worker: announces each newly overdue request once (`request.overdue`), forgets the email of
 * email-only requests closed longer than the retention, and answers the gauges' figures.
 */
export async function superviseRequests(deps: RequestDeps & { retentionMs: number }) {
  const now = deps.clock.now()
  return writeTransaction(deps.store, async (tx) => {
    const newlyOverdue = await many(
      tx
        .select()
        .from(dataRequests)
        .where(
          and(
            inArray(dataRequests.status, OPEN),
            lt(dataRequests.dueAt, now),
            isNull(dataRequests.overdueAnnouncedAt),
          ),
        )
        .limit(500),
    )
    for (const row of newlyOverdue) {
      await exec(tx.update(dataRequests).set({ overdueAnnouncedAt: now }).where(eq(dataRequests.id, row.id)))
      await emitEvent(tx, deps.clock, 'request.overdue', row.userId, {
        request_id: row.id,
        type: row.type,
        due_at: new Date(row.dueAt).toISOString(),
        ...(row.userId ? { user_id: row.userId } : {}),
      })
    }
    await exec(
      tx
        .update(dataRequests)
        .set({ email: null, note: null })
        .where(
          and(
            isNotNull(dataRequests.email),
            isNotNull(dataRequests.closedAt),
            lt(dataRequests.closedAt, now - deps.retentionMs),
          ),
        ),
    )
    return {
      ...(await requestDeadlines(tx, now)),
      announced: newlyOverdue.length,
    }
  })
}
