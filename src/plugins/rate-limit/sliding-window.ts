/**
 * The sliding-window counter (docs/spec/traffic.md §2), pure: the clock comes in as `now`.
 *
 * Windows sit on a fixed grid of `windowMs`. The estimate of requests in the rolling window that
 * ends at `now` is the current window's count plus the previous window's count weighted by the
 * share of the previous window still inside the rolling window. A request is admitted when the
 * estimate plus itself stays within the limit. Rejected requests are not counted, so a client that
 * honours Retry-After is let in then.
 */

export interface WindowCounts {
  /** Start of the current window on the grid (epoch ms). */
  windowStart: number
  current: number
  previous: number
}

export interface Decision {
  allowed: boolean
  /** Counts after this request (incremented when allowed). */
  counts: WindowCounts
  /** Requests still allowed right now. */
  remaining: number
  /** Milliseconds until one more request would be allowed (0 when remaining > 0). */
  retryAfterMs: number
}

/** Float slack: a boundary computed as "exactly at the limit" must count as within it. */
const EPSILON = 1e-9

/** The counts as seen from the window containing `now`. */
export function roll(counts: WindowCounts | undefined, windowMs: number, now: number): WindowCounts {
  const windowStart = now - (now % windowMs)
  if (!counts) return { windowStart, current: 0, previous: 0 }
  if (counts.windowStart === windowStart) return counts
  if (counts.windowStart === windowStart - windowMs)
    return { windowStart, current: 0, previous: counts.current }
  return { windowStart, current: 0, previous: 0 }
}

export function estimate(counts: WindowCounts, windowMs: number, now: number): number {
  const left = windowMs - (now - counts.windowStart)
  return (counts.previous * left) / windowMs + counts.current
}

/** Milliseconds from `now` until a request would be admitted, given rolled counts. */
export function waitForOneMore(counts: WindowCounts, limit: number, windowMs: number, now: number): number {
  const left = windowMs - (now - counts.windowStart)
  if (estimate(counts, windowMs, now) + 1 <= limit + EPSILON) return 0
  // Still inside this window: previous × (left − Δ)/w + current + 1 ≤ limit.
  if (counts.previous > 0 && counts.current + 1 <= limit + EPSILON) {
    const delta = left - ((limit - 1 - counts.current) * windowMs) / counts.previous
    if (delta < left) return Math.max(0, delta)
  }
  // In the next window, where this window's count becomes the previous one.
  const intoNext = counts.current > 0 ? Math.max(0, windowMs * (1 - (limit - 1) / counts.current)) : 0
  return left + intoNext
}

export function decide(
  counts: WindowCounts | undefined,
  limit: number,
  windowMs: number,
  now: number,
): Decision {
  const rolled = roll(counts, windowMs, now)
  const allowed = estimate(rolled, windowMs, now) + 1 <= limit + EPSILON
  const after = allowed ? { ...rolled, current: rolled.current + 1 } : rolled
  return outcome(allowed, after, limit, windowMs, now)
}

/** Remaining and wait, from counts already decided (also used for counts that come from Redis). */
export function outcome(
  allowed: boolean,
  counts: WindowCounts,
  limit: number,
  windowMs: number,
  now: number,
): Decision {
  const remaining = Math.max(0, Math.floor(limit - estimate(counts, windowMs, now) + EPSILON))
  return {
    allowed,
    counts,
    remaining,
    retryAfterMs: remaining > 0 ? 0 : waitForOneMore(counts, limit, windowMs, now),
  }
}
