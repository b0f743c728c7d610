import { describe, expect, it } from 'bun:test'
import {
  decide,
  estimate,
  roll,
  type WindowCounts,
  waitForOneMore,
} from '../../src/plugins/rate-limit/sliding-window'

const W = 60_000
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % W) // a window boundary

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('the sliding-window counter', () => {
  it('admits exactly the limit in a fresh window and refuses the next', () => {
    let counts: WindowCounts | undefined
    const results: boolean[] = []
    for (let i = 0; i < 6; i++) {
      const d = decide(counts, 5, W, T0 + i * 1000)
      counts = d.counts
      results.push(d.allowed)
    }
    expect(results).toEqual([true, true, true, true, true, false])
  })

  it('weights the previous window by the share still inside the rolling window', () => {
    const full: WindowCounts = { windowStart: T0, current: 10, previous: 0 }
    // At the start of the next window all 10 still count; a quarter in, 7.5 do.
    expect(estimate(roll(full, W, T0 + W), W, T0 + W)).toBe(10)
    expect(estimate(roll(full, W, T0 + W + W / 4), W, T0 + W + W / 4)).toBe(7.5)
    expect(decide(full, 10, W, T0 + W).allowed).toBe(false)
    // At 10% into the next window the estimate is 9: exactly one more fits.
    const d = decide(full, 10, W, T0 + W + W / 10)
    expect(d.allowed).toBe(true)
    expect(decide(d.counts, 10, W, T0 + W + W / 10).allowed).toBe(false)
    // Two windows later nothing remains.
    expect(estimate(roll(full, W, T0 + 2 * W), W, T0 + 2 * W)).toBe(0)
  })

  it('lets through exactly what the formula allows, never a fixed window (random schedules)', () => {
    const rand = random(42)
    for (let run = 0; run < 50; run++) {
      const limit = 1 + Math.floor(rand() * 20)
      let counts: WindowCounts | undefined
      let now = T0 + Math.floor(rand() * W)
      for (let i = 0; i < 300; i++) {
        now += Math.floor(rand() * rand() * W * 0.2)
        const rolled = roll(counts, W, now)
        const expected =
          rolled.previous * ((W - (now - rolled.windowStart)) / W) + rolled.current + 1 <= limit + 1e-9
        const d = decide(counts, limit, W, now)
        expect(d.allowed).toBe(expected)
        counts = d.counts
      }
    }
  })

  it('never admits a burst of twice the limit across a window boundary (unlike a fixed window)', () => {
    let counts: WindowCounts | undefined
    let admitted = 0
    for (let i = 0; i < 10; i++) {
      const d = decide(counts, 10, W, T0 + W - 1000 + i)
      counts = d.counts
      if (d.allowed) admitted++
    }
    for (let i = 0; i < 10; i++) {
      const d = decide(counts, 10, W, T0 + W + 1000 + i)
      counts = d.counts
      if (d.allowed) admitted++
    }
    expect(admitted).toBeLessThanOrEqual(11)
  })

  it('gives a wait that is enough and, rounded up to seconds, at most one second too long', () => {
    const rand = random(7)
    let checked = 0
    for (let run = 0; run < 400; run++) {
      const limit = 1 + Math.floor(rand() * 12)
      const windowMs = [10_000, 60_000, 3_600_000][run % 3] as number
      let counts: WindowCounts | undefined
      let now = T0 + Math.floor(rand() * windowMs * 3)
      let d = decide(counts, limit, windowMs, now)
      while (d.allowed) {
        counts = d.counts
        now += Math.floor(rand() * (windowMs / limit))
        d = decide(counts, limit, windowMs, now)
      }
      const seconds = Math.ceil(d.retryAfterMs / 1000)
      expect(seconds).toBeGreaterThan(0)
      expect(decide(d.counts, limit, windowMs, now + seconds * 1000).allowed).toBe(true)
      expect(decide(d.counts, limit, windowMs, now + (seconds - 1) * 1000).allowed).toBe(false)
      expect(waitForOneMore(roll(d.counts, windowMs, now), limit, windowMs, now)).toBe(d.retryAfterMs)
      checked++
    }
    expect(checked).toBe(400)
  })

  it('does not count refused requests', () => {
    const full = decide({ windowStart: T0, current: 4, previous: 0 }, 5, W, T0 + 10).counts
    const refused = decide(full, 5, W, T0 + 20)
    expect(refused.allowed).toBe(false)
    expect(refused.counts.current).toBe(5)
  })
})
