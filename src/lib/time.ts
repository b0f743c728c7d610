/** RFC 3339 (UTC) for the /v1 dialect; null stays null. */
export function toRfc3339(ms: number): string
export function toRfc3339(ms: number | null | undefined): string | null
export function toRfc3339(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString()
}

/** The UTC calendar day of an instant, `YYYY-MM-DD`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

/** Start of the UTC day containing `ms`. */
export function startOfUtcDay(ms: number): number {
  const d = new Date(ms)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
}
