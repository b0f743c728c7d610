import { and, count, eq, inArray } from 'drizzle-orm'
import type { Orm, Store } from '../../db/client'
import type { SandboxRow } from '../../db/rows'
import { type SandboxStatus, sandboxes } from '../../db/schema'
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
export function endRun(
  store: Store,
  tx: Orm,
  sandbox: SandboxRow,
  status: SandboxStatus,
  now: number,
): SandboxRow {
  if (sandbox.status === 'running' && sandbox.chargedUntil !== null && now > sandbox.chargedUntil)
    chargeGbHours(store, sandbox.teamId, sandbox.memoryMb, sandbox.chargedUntil, now, now)
  // The team's running totals follow (sandbox-totals.ts): a running segment ends; capacity frees
  // when it is destroyed.
  adjustTotals(store, sandbox.teamId, now, {
    active: status === 'destroyed' && ACTIVE_STATUSES.includes(sandbox.status) ? -1 : 0,
    ...(sandbox.status === 'running'
      ? { runningMemoryMb: -sandbox.memoryMb, chargedFrom: sandbox.chargedUntil ?? now }
      : {}),
  })
  const values: Partial<SandboxRow> = { status, updatedAt: now, chargedUntil: now }
  if (status === 'destroyed') {
    values.destroyedAt = now
    values.timeoutAt = null
  }
  return tx.update(sandboxes).set(values).where(eq(sandboxes.id, sandbox.id)).returning().get() as SandboxRow
}

/** Destroys every sandbox of a team that still holds capacity, charging what ran. */
export function destroyActiveSandboxes(store: Store, tx: Orm, teamId: string, now: number): number {
  const active = tx
    .select()
    .from(sandboxes)
    .where(and(eq(sandboxes.teamId, teamId), inArray(sandboxes.status, ACTIVE_STATUSES)))
    .all()
  for (const sandbox of active) endRun(store, tx, sandbox, 'destroyed', now)
  return active.length
}

/** Sandboxes of a team that still hold capacity (creating, running, paused). */
export function activeSandboxCount(store: Store, teamId: string): number {
  return (
    store.orm
      .select({ n: count() })
      .from(sandboxes)
      .where(and(eq(sandboxes.teamId, teamId), inArray(sandboxes.status, ACTIVE_STATUSES)))
      .get()?.n ?? 0
  )
}
