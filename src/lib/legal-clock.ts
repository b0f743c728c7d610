import { DAY } from './clock'

/**
 * Deadlines counted as the GDPR counts them (Art. 12(3); periods per Regulation 1182/71, Art. 3):
 * a period of months ends on the same day number of the last month — or on that month's last day
 * when it has none (31 January + 1 month = 28/29 February) — at the end of that day (UTC here).
 */
export function endOfDayMonthsLater(ms: number, months: number): number {
  const d = new Date(ms)
  const year = d.getUTCFullYear()
  const month = d.getUTCMonth() + months
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate()
  return Date.UTC(year, month, Math.min(d.getUTCDate(), lastDay), 23, 59, 59, 999)
}

/** Whole days a pause lasted: any part of a day counts as a day the clock stood still. */
export const pausedDaysOf = (ms: number) => Math.ceil(Math.max(0, ms) / DAY)

/** When a request received at `receivedAt` is due, extended by `months` and paused `pausedDays`. */
export const requestDueAt = (receivedAt: number, extendedMonths: number, pausedDays: number) =>
  endOfDayMonthsLater(receivedAt, 1 + extendedMonths) + pausedDays * DAY
