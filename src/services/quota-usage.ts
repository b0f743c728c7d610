import { sql } from 'drizzle-orm'
import { preparedFor, type Tx } from '../../db/client'
import { quotaUsage } from '../../db/tables'
import { DAY, HOUR } from '../lib/clock'
import { startOfUtcDay, utcDay } from '../lib/time'

const ph = sql.placeholder
/** Prepared once: the builder rebuilt this upsert on every sandbox create (~130 µs). */
const upsertUsage = preparedFor((orm) =>
  orm
    .insert(quotaUsage)
    .values({
      teamId: ph('team'),
      usageDate: ph('day'),
      sandboxCreates: ph('creates'),
      gbHours: ph('gbHours'),
      updatedAt: ph('now'),
    })
    .onConflictDoUpdate({
      target: [quotaUsage.teamId, quotaUsage.usageDate],
      set: {
        sandboxCreates: sql`${quotaUsage.sandboxCreates} + ${ph('creates')}`,
        gbHours: sql`${quotaUsage.gbHours} + ${ph('gbHours')}`,
        updatedAt: sql`${ph('now')}`,
      },
    })
    .prepare(),
)

/**
 * Adds to a team's usage row of one UTC day, creating it when missing. Call inside the write
 * transaction that decided it.
 */
export async function addUsage(
  tx: Tx,
  teamId: string,
  usageDate: string,
  delta: { sandboxCreates?: number; gbHours?: number },
  now: number,
) {
  await upsertUsage(tx).run({
    team: teamId,
    day: usageDate,
    creates: delta.sandboxCreates ?? 0,
    gbHours: delta.gbHours ?? 0,
    now,
  })
}

/** GB-hours of a run: memory in GiB × hours, split by UTC day → `[usageDate, gbHours][]`. */
export function gbHoursByDay(memoryMb: number, fromMs: number, toMs: number): [string, number][] {
  const parts: [string, number][] = []
  let start = fromMs
  while (start < toMs) {
    const dayEnd = startOfUtcDay(start) + DAY
    const end = Math.min(dayEnd, toMs)
    parts.push([utcDay(start), ((memoryMb / 1024) * (end - start)) / HOUR])
    start = end
  }
  return parts
}

/** Charges a run's GB-hours to the team, on each UTC day it ran. */
export async function chargeGbHours(
  tx: Tx,
  teamId: string,
  memoryMb: number,
  fromMs: number,
  toMs: number,
  now: number,
) {
  for (const [day, gbHours] of gbHoursByDay(memoryMb, fromMs, toMs))
    await addUsage(tx, teamId, day, { gbHours }, now)
}
