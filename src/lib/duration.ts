/** `90`, `90s`, `30m`, `1h`, `7d` → milliseconds; null when unparseable. */
export function parseDuration(input: string): number | null {
  const match = /^(\d+)\s*(ms|s|m|h|d)?$/i.exec(input.trim())
  if (!match) return null
  const n = Number(match[1])
  const unit = (match[2] ?? 's').toLowerCase()
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit] as number
  return n * factor
}
