import { sql } from 'drizzle-orm'
import type { Orm } from '../../db/client'
import { quotaUsage } from '../../db/schema'
import { DAY, HOUR } from '../lib/clock'
import { startOfUtcDay, utcDay } from '../lib/time'

/** Adds to a team's usage row of one UTC day, creating it when missing. */
export function addUsage(
  tx: Orm,
  teamId: string,
  usageDate: string,
  delta: { sandboxCreates?: number; gbHours?: number },
  now: number,
) {
  tx.insert(quotaUsage)
    .values({
      teamId,
      usageDate,
      sandboxCreates: delta.sandboxCreates ?? 0,
      gbHours: delta.gbHours ?? 0,
      updatedAt: now,
    })
    .onConflictDoUpdate({
      target: [quotaUsage.teamId, quotaUsage.usageDate],
      set: {
        sandboxCreates: sql`${quotaUsage.sandboxCreates} + ${delta.sandboxCreates ?? 0}`,
        gbHours: sql`${quotaUsage.gbHours} + ${delta.gbHours ?? 0}`,
        updatedAt: now,
      },
    })
    .run()
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
export function chargeGbHours(
  tx: Orm,
  teamId: string,
  memoryMb: number,
  fromMs: number,
  toMs: number,
  now: number,
) {
  for (const [day, gbHours] of gbHoursByDay(memoryMb, fromMs, toMs))
    addUsage(tx, teamId, day, { gbHours }, now)
}
