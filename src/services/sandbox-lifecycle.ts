import { and, count, eq, inArray, sql } from 'drizzle-orm'
import { many, one } from '../../db/query'
import { lockTeam } from '../../db/row-locks'
import type { SandboxRow } from '../../db/rows'
import type { SandboxStatus } from '../../db/schema'
import { preparedFor, type Tx } from '../../db/store'
import { sandboxes } from '../../db/tables'
import { chargeGbHours } from './quota-usage'
import { adjustTotals } from './sandbox-totals'

export type { SandboxRow }

/** States that hold capacity (count towards max_concurrent_sandboxes). */
export const ACTIVE_STATUSES: SandboxStatus[] = ['creating', 'running', 'paused']

/**
 * Ends the running segment of a sandbox at `now`: charges its GB-hours (from `charged_until`, the
 * start of the uncharged segment) and moves it to `status`. A paused sandbox has nothing running
 * to charge.
 */
export async function endRun(
  tx: Tx,
  sandbox: SandboxRow,
  status: SandboxStatus,
  now: number,
): Promise<SandboxRow> {
  if (sandbox.status === 'running' && sandbox.chargedUntil !== null && now > sandbox.chargedUntil)
    await chargeGbHours(tx, sandbox.teamId, sandbox.memoryMb, sandbox.chargedUntil, now, now)
  // The team's running totals follow (sandbox-totals.ts): a running segment ends; capacity frees
  // when it is destroyed.
  await adjustTotals(tx, sandbox.teamId, now, {
    active: status === 'destroyed' && ACTIVE_STATUSES.includes(sandbox.status) ? -1 : 0,
    ...(sandbox.status === 'running'
      ? { runningMemoryMb: -sandbox.memoryMb, chargedFrom: sandbox.chargedUntil ?? now }
      : {}),
  })
  return (await one(endRunUpdate(tx), {
    id: sandbox.id,
    status,
    now,
    destroyed: status === 'destroyed' ? 1 : 0,
  })) as SandboxRow
}

const ph = sql.placeholder
/** Prepared once (every destroy, pause and sweep runs it); a destroyed sandbox also loses its deadline. */
const endRunUpdate = preparedFor((orm) =>
  orm
    .update(sandboxes)
    .set({
      status: sql`${ph('status')}`,
      updatedAt: sql`${ph('now')}`,
      chargedUntil: sql`${ph('now')}`,
      destroyedAt: sql`CASE WHEN ${ph('destroyed')} = 1 THEN ${ph('now')} ELSE ${sandboxes.destroyedAt} END`,
      timeoutAt: sql`CASE WHEN ${ph('destroyed')} = 1 THEN NULL ELSE ${sandboxes.timeoutAt} END`,
    })
    .where(eq(sandboxes.id, ph('id')))
    .returning()
    .prepare(),
)

/** Destroys every sandbox of a team that still holds capacity, charging what ran. */
export async function destroyActiveSandboxes(tx: Tx, teamId: string, now: number): Promise<number> {
  await lockTeam(tx, teamId)
  const active = await many(
    tx
      .select()
      .from(sandboxes)
      .where(and(eq(sandboxes.teamId, teamId), inArray(sandboxes.status, ACTIVE_STATUSES))),
  )
  for (const sandbox of active) await endRun(tx, sandbox, 'destroyed', now)
  return active.length
}

/** Sandboxes of a team that still hold capacity (creating, running, paused). */
export async function activeSandboxCount(tx: Tx, teamId: string): Promise<number> {
  return (
    (
      await one(
        tx
          .select({ n: count() })
          .from(sandboxes)
          .where(and(eq(sandboxes.teamId, teamId), inArray(sandboxes.status, ACTIVE_STATUSES))),
      )
    )?.n ?? 0
  )
}
