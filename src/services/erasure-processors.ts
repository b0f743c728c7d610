import { and, eq, inArray, isNull, lt, or } from 'drizzle-orm'
import { exec, many, one } from '../../db/query'
import { type Store, type Tx, writeTransaction } from '../../db/store'
import { erasureProcessors } from '../../db/tables'
import { AppError } from '../errors'
import type { Clock } from '../lib/clock'
import { sha256Hex } from '../lib/crypto'
import { emitEvent } from './events'

export type ProcessorRow = typeof erasureProcessors.$inferSelect

/**
 * A processor's acknowledgement that it erased the account (POST of its capability URL). The
 * URL works once in effect: repeating it changes nothing and answers the same.
 */
export async function acknowledgeErasure(store: Store, clock: Clock, token: string): Promise<ProcessorRow> {
  if (!/^ack_[A-Za-z0-9_-]{43}$/.test(token)) throw new AppError('NOT_FOUND', 'No such acknowledgement link.')
  const tokenHash = sha256Hex(token)
  const row = await writeTransaction(store, async (tx) => {
    await exec(
      tx
        .update(erasureProcessors)
        .set({ status: 'acknowledged', acknowledgedAt: clock.now() })
        .where(and(eq(erasureProcessors.tokenHash, tokenHash), isNull(erasureProcessors.acknowledgedAt))),
    )
    return one(tx.select().from(erasureProcessors).where(eq(erasureProcessors.tokenHash, tokenHash)))
  })
  if (!row) throw new AppError('NOT_FOUND', 'No such acknowledgement link.')
  return row
}

/** Downstream systems learn of it with the erasure (GDPR Art. 17(2), 19); processors acknowledge. */
export function announceErasureRequested(
  tx: Tx,
  clock: Pick<Clock, 'now'>,
  userId: string,
  erasureId: string,
  mode: string,
) {
  return emitEvent(tx, clock, 'account.erasure_requested', userId, {
    user_id: userId,
    erasure_id: erasureId,
    mode,
  })
}

/** The processors of each erasure, for its receipt. */
export async function processorsOf(tx: Tx, deletionIds: string[]): Promise<Map<string, ProcessorRow[]>> {
  const byDeletion = new Map<string, ProcessorRow[]>()
  if (deletionIds.length === 0) return byDeletion
  const rows = await many(
    tx.select().from(erasureProcessors).where(inArray(erasureProcessors.deletionId, deletionIds)),
  )
  for (const row of rows) byDeletion.set(row.deletionId, [...(byDeletion.get(row.deletionId) ?? []), row])
  for (const list of byDeletion.values()) list.sort((a, b) => a.endpointId.localeCompare(b.endpointId))
  return byDeletion
}

/**
 * Processors past the deadline without an acknowledgement: each is announced once
 * (`account.erasure_overdue`). Returns how many are overdue now (the metric).
 */
export async function reportOverdueProcessors(deps: { store: Store; clock: Clock }, deadlineMs: number) {
  return writeTransaction(deps.store, async (tx) => {
    const cutoff = deps.clock.now() - deadlineMs
    const waiting = or(eq(erasureProcessors.status, 'pending'), eq(erasureProcessors.status, 'delivered'))
    const overdue = await many(
      tx
        .select()
        .from(erasureProcessors)
        .where(and(waiting, lt(erasureProcessors.requestedAt, cutoff))),
    )
    for (const row of overdue.filter((r) => r.overdueNotifiedAt === null)) {
      await emitEvent(tx, deps.clock, 'account.erasure_overdue', null, {
        erasure_id: row.deletionId,
        endpoint_id: row.endpointId,
        requested_at: new Date(row.requestedAt).toISOString(),
      })
      await exec(
        tx
          .update(erasureProcessors)
          .set({ overdueNotifiedAt: deps.clock.now() })
          .where(
            and(
              eq(erasureProcessors.deletionId, row.deletionId),
              eq(erasureProcessors.endpointId, row.endpointId),
            ),
          ),
      )
    }
    return overdue.length
  })
}
