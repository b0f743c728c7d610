import type { AppDeps } from '../deps'
import { hardDeleteDueAccounts, resumeDueDeletions } from '../services/deletion'
import { reapIdempotencyKeys } from '../services/idempotency'
import { sweepExpiredSandboxes } from '../services/sandboxes'

export interface PurgeReport {
  hardDeleted: number
  resumed: number
  sandboxesSwept: number
  idempotencyKeysReaped: number
}

/**
 * One pass of the maintenance work: what `custodian purge` runs once and the in-process worker
 * runs on a timer. Hard-deletes accounts whose grace period is over, resumes deletions stuck
 * between steps (with backoff), applies sandbox timeouts, and reaps expired idempotency keys.
 */
export async function purgeOnce(deps: AppDeps): Promise<PurgeReport> {
  const hardDeleted = await hardDeleteDueAccounts(deps)
  const resumed = await resumeDueDeletions(deps)
  return {
    hardDeleted,
    resumed,
    sandboxesSwept: await sweepExpiredSandboxes(deps),
    idempotencyKeysReaped: await reapIdempotencyKeys(deps.store, deps.clock.now()),
  }
}
