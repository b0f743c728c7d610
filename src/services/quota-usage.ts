import { statementFor, type Tx } from '../../db/store'
import { DAY, HOUR } from '../lib/clock'
import { startOfUtcDay, utcDay } from '../lib/time'

/** Raw (db/row-reader.ts): Drizzle's placeholder filling cost this upsert of every create ~1 µs. */
const upsertUsage = statementFor<{
  team: string
  day: string
  creates: number
  gbHours: number
  now: number
}>(
  `INSERT INTO quota_usage (team_id, usage_date, sandbox_creates, gb_hours, updated_at)
   VALUES ($team, $day, $creates, $gbHours, $now)
   ON CONFLICT (team_id, usage_date) DO UPDATE SET
     sandbox_creates = quota_usage.sandbox_creates + excluded.sandbox_creates,
     gb_hours = quota_usage.gb_hours + excluded.gb_hours,
     updated_at = excluded.updated_at`,
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
