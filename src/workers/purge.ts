import type { Store } from '../../db/client'
import type { Config } from '../config'
import { type Clock, systemClock } from '../lib/clock'
import { reapIdempotencyKeys } from '../services/idempotency'

export interface PurgeReport {
  idempotencyKeysReaped: number
}

export interface PurgeDeps {
  config: Config
  store: Store
  clock: Clock
}

/**
 * One pass of the maintenance work: what `custodian purge` runs once and the in-process worker
 * runs on a timer. Each step is its own short transaction.
 */
export async function purgeOnce(deps: PurgeDeps): Promise<PurgeReport> {
  return { idempotencyKeysReaped: reapIdempotencyKeys(deps.store, deps.clock.now()) }
}

/** `custodian purge`: the same pass against the configured database. */
export function runPurgeOnce(config: Config, store: Store) {
  return purgeOnce({ config, store, clock: systemClock })
}
