import { POLICY_NAMES, type RatePolicy } from '../../config'
import { type Decision, decide, type WindowCounts } from './sliding-window'
import type { RateLimitStore } from './store'

interface Entry extends WindowCounts {
  windowMs: number
}

export interface MemoryStoreOptions {
  /**
   * Soft bound on partitions held. At the bound, only entries whose windows have fully expired
   * are evicted; a new unauthenticated partition is then refused rather than forgetting a live one.
   * @default 100000
   */
  maxEntries?: number
}

/**
 * The default store. Bounded without being flushable: spraying new partitions (one per spoofed
 * IP, say) can never evict a partition that is currently limited, because only fully expired
 * windows are ever evicted. When the table is full of live entries, new `ip:` partitions are
 * refused (429) — unauthenticated callers are the only ones who can mint partitions for free;
 * authenticated ones are bounded by the number of users.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly entries = new Map<string, Entry>()
  private readonly maxEntries: number
  private nextSweepAt = 0

  constructor(options: MemoryStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000
  }

  get size() {
    return this.entries.size
  }

  hit(partition: string, policy: RatePolicy, now: number): Decision {
    const key = `${policy.name}\u0000${partition}`
    const entry = this.entries.get(key)
    if (!entry && this.entries.size >= this.maxEntries) {
      this.sweep(now)
      if (this.entries.size >= this.maxEntries && partition.startsWith('ip:')) {
        // Full of live partitions: refuse the newcomer for a window rather than evict anyone.
        return {
          allowed: false,
          counts: { windowStart: now, current: 0, previous: 0 },
          remaining: 0,
          retryAfterMs: policy.windowMs,
        }
      }
    }
    const decision = decide(entry, policy.limit, policy.windowMs, now)
    if (entry) {
      entry.windowStart = decision.counts.windowStart
      entry.current = decision.counts.current
      entry.previous = decision.counts.previous
    } else if (decision.allowed) {
      this.entries.set(key, { ...decision.counts, windowMs: policy.windowMs })
    }
    return decision
  }

  /** Drops every counter of `partition` (an erased account's). */
  forget(partition: string) {
    for (const name of POLICY_NAMES) this.entries.delete(`${name}\u0000${partition}`)
  }

  /** Drops entries whose current and previous windows are both over (at most once a second). */
  private sweep(now: number) {
    if (now < this.nextSweepAt) return
    this.nextSweepAt = now + 1000
    for (const [key, entry] of this.entries)
      if (now >= entry.windowStart + 2 * entry.windowMs) this.entries.delete(key)
  }
}
