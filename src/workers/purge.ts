import type { AppDeps } from '../deps'
import { reapConsoleSessions } from '../services/console/sessions'
import { superviseRequests } from '../services/data-requests'
import { erasuresNeedingAttention, hardDeleteDueAccounts, resumeDueDeletions } from '../services/deletion'
import { reportOverdueProcessors } from '../services/erasure-processors'
import { reapExpiredArchives } from '../services/export-archives'
import { reapIdempotencyKeys } from '../services/idempotency'
import { releaseLapsedHolds } from '../services/legal-holds'
import { applyRetention } from '../services/retention'
import { sweepExpiredSandboxes } from '../services/sandboxes'
import { deliverAllDue, reapWebhookDeliveries } from '../services/webhook-delivery'
import { buildArchives } from './archives'

export interface PurgeReport {
  hardDeleted: number
  resumed: number
  sandboxesSwept: number
  idempotencyKeysReaped: number
  webhookDeliveries: number
  webhookDeliveriesReaped: number
  overdueAcknowledgements: number
  holdsLapsed: number
  archivesBuilt: number
  archivesExpired: number
  consoleSessionsExpired: number
  requestsOverdue: number
  inactivityWarned: number
  inactivityScheduled: number
}

/**
 * One pass of the maintenance work: what `custodian purge` runs once and the in-process worker
 * runs on a timer. Releases lapsed legal holds, warns and schedules inactive accounts (retention),
 * hard-deletes accounts whose grace period is over, removes expired console sessions, resumes deletions stuck
 * between steps (with backoff), reports processors overdue with an erasure's acknowledgement,
 * applies sandbox timeouts, and reaps expired idempotency keys and month-old webhook deliveries.
 */
export async function purgeOnce(
  deps: AppDeps,
  options: { deliverWebhooks?: boolean } = {},
): Promise<PurgeReport> {
  const holdsLapsed = await releaseLapsedHolds(deps)
  const retention = await applyRetention(deps)
  const hardDeleted = await hardDeleteDueAccounts(deps)
  const resumed = await resumeDueDeletions(deps)
  deps.metrics.erasuresNeedingAttention(await erasuresNeedingAttention(deps.store))
  const requests = await superviseRequests({ ...deps, retentionMs: deps.config.requestRetentionMs })
  deps.metrics.dataRequests(requests)
  const overdueAcknowledgements = await reportOverdueProcessors(deps, deps.config.webhooks.ackDeadlineMs)
  deps.metrics.erasureAcknowledgementsOverdue(overdueAcknowledgements)
  return {
    hardDeleted,
    resumed,
    sandboxesSwept: await sweepExpiredSandboxes(deps),
    idempotencyKeysReaped: await reapIdempotencyKeys(deps.store, deps.clock.now()),
    // `serve` has its own delivery worker; `custodian purge` sends what is due here.
    webhookDeliveries: options.deliverWebhooks ? await deliverAllDue(deps) : 0,
    webhookDeliveriesReaped: await reapWebhookDeliveries(deps),
    overdueAcknowledgements,
    holdsLapsed,
    // `serve` has its own builder (workers/archives.ts); here it catches up what is left.
    archivesBuilt: options.deliverWebhooks ? await buildArchives(deps) : 0,
    archivesExpired: await reapExpiredArchives(deps),
    consoleSessionsExpired: await reapConsoleSessions(deps),
    requestsOverdue: requests.overdue,
    inactivityWarned: retention.warned,
    inactivityScheduled: retention.scheduled,
  }
}
