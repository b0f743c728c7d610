import { asc, desc, eq, gte, sum } from 'drizzle-orm'
import { many } from '../../../db/query'
import { readTransaction, type Store } from '../../../db/store'
import { quotaRefusals, quotaTiers, quotaUsage, teams, users } from '../../../db/tables'
import { DAY } from '../../lib/clock'
import { utcDay } from '../../lib/time'

/** Days the creates-per-day chart covers. */
export const CHART_DAYS = 30

/** Tiers, today's busiest teams, refusals today and creates per day (the Quotas page). */
export async function quotaReport(store: Store, now: number, top = 10) {
  const today = utcDay(now)
  const tiers = await quotaTierChoices(store)
  return readTransaction(store, async (tx) => {
    const topTeams = await many(
      tx
        .select({
          teamId: quotaUsage.teamId,
          creates: quotaUsage.sandboxCreates,
          gbHours: quotaUsage.gbHours,
          userId: users.id,
          email: users.email,
          tierId: teams.quotaTierId,
        })
        .from(quotaUsage)
        .innerJoin(teams, eq(teams.id, quotaUsage.teamId))
        .innerJoin(users, eq(users.id, teams.ownerUserId))
        .where(eq(quotaUsage.usageDate, today))
        .orderBy(desc(quotaUsage.sandboxCreates))
        .limit(top),
    )
    const refusals = await many(
      tx
        .select({ quota: quotaRefusals.quota, refusals: quotaRefusals.refusals })
        .from(quotaRefusals)
        .where(eq(quotaRefusals.usageDate, today)),
    )
    const days = await many(
      tx
        .select({ day: quotaUsage.usageDate, creates: sum(quotaUsage.sandboxCreates) })
        .from(quotaUsage)
        .where(gte(quotaUsage.usageDate, utcDay(now - (CHART_DAYS - 1) * DAY)))
        .groupBy(quotaUsage.usageDate),
    )
    const byDay = new Map(days.map((d) => [d.day, Number(d.creates ?? 0)]))
    const perDay = Array.from({ length: CHART_DAYS }, (_, i) => {
      const day = utcDay(now - (CHART_DAYS - 1 - i) * DAY)
      return { day, creates: byDay.get(day) ?? 0 }
    })
    return {
      tiers,
      topTeams: topTeams.map((t) => ({ ...t, creates: Number(t.creates), gbHours: Number(t.gbHours) })),
      refusals: refusals.map((r) => ({ quota: r.quota, refusals: Number(r.refusals) })),
      perDay,
    }
  })
}

/** The quota tiers, smallest first (the tier picker). */
export const quotaTierChoices = (store: Store) =>
  readTransaction(store, (tx) =>
    many(tx.select().from(quotaTiers).orderBy(asc(quotaTiers.dailySandboxCreates))),
  )
