import { count, eq, isNotNull, notInArray, or, sum } from 'drizzle-orm'
import { many, one } from '../../../db/query'
import { readTransaction, type Store } from '../../../db/store'
import { accountDeletions, quotaRefusals, users, webhookEndpoints } from '../../../db/tables'
import { utcDay } from '../../lib/time'
import { requestDeadlines } from '../data-requests'

/** Erasure steps that need an operator, apart from the ones still running. */
export const STOPPED_STEPS = ['incomplete', 'blocked_legal_hold'] as const

/** The overview's figures: each one a count an index answers (docs/console.md). */
export function consoleOverview(store: Store, now: number) {
  return readTransaction(store, async (tx) => {
    const n = (row: { n: number | string | null } | undefined) => Number(row?.n ?? 0)
    const accounts = n(await one(tx.select({ n: count() }).from(users)))
    const scheduled = n(
      await one(tx.select({ n: count() }).from(users).where(isNotNull(users.deleteScheduledAt))),
    )
    const steps = await many(
      tx
        .select({ step: accountDeletions.step, n: count() })
        .from(accountDeletions)
        .where(notInArray(accountDeletions.step, ['done']))
        .groupBy(accountDeletions.step),
    )
    const ofStep = (step: string) => Number(steps.find((s) => s.step === step)?.n ?? 0)
    const running = steps
      .filter((s) => !(STOPPED_STEPS as readonly string[]).includes(s.step))
      .reduce((total, s) => total + Number(s.n), 0)
    const failingEndpoints = n(
      await one(
        tx
          .select({ n: count() })
          .from(webhookEndpoints)
          .where(or(isNotNull(webhookEndpoints.failingSince), eq(webhookEndpoints.status, 'disabled'))),
      ),
    )
    const refusals = n(
      await one(
        tx
          .select({ n: sum(quotaRefusals.refusals) })
          .from(quotaRefusals)
          .where(eq(quotaRefusals.usageDate, utcDay(now))),
      ),
    )
    const requests = await requestDeadlines(tx, now)
    return {
      accounts,
      active: accounts - scheduled,
      scheduled,
      erasuresRunning: running,
      erasuresIncomplete: ofStep('incomplete'),
      erasuresBlocked: ofStep('blocked_legal_hold'),
      requestsDue7Days: requests.dueWithin7Days,
      requestsOverdue: requests.overdue,
      failingEndpoints,
      quotaRefusalsToday: refusals,
    }
  })
}

export type ConsoleOverview = Awaited<ReturnType<typeof consoleOverview>>
