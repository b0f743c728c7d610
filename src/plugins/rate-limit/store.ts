import type { RatePolicy } from '../../config'
import type { Decision } from './sliding-window'

/** Where rate-limit counters live: in memory (one instance) or Redis (several). */
export interface RateLimitStore {
  /** Counts one request of `partition` under `policy` at `now`, atomically, and decides. */
  hit(partition: string, policy: RatePolicy, now: number): Decision | Promise<Decision>
  /** False while a remote store does not answer (requests are then counted locally). */
  readonly available?: boolean
  /** Resolves once a remote store has answered (or gave up waiting): whether it is reachable. */
  ready?(waitMs?: number): Promise<boolean>
  /** Drops every counter of `partition` (at erasure: no trace of the account outlives it). */
  forget?(partition: string): void | Promise<void>
  close?(): void | Promise<void>
}
