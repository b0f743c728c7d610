import type { RatePolicy } from '../../config'
import type { Decision } from './sliding-window'

/** Where rate-limit counters live: in memory (one instance) or Redis (several). */
export interface RateLimitStore {
  /** Counts one request of `partition` under `policy` at `now`, atomically, and decides. */
  hit(partition: string, policy: RatePolicy, now: number): Decision | Promise<Decision>
  close?(): void | Promise<void>
}
