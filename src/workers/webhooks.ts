import type { AppDeps } from '../deps'
import { onEventsWritten } from '../services/events'
import { deliveryPass } from '../services/webhook-delivery'
import { startPollingWorker } from './polling-worker'

/** How often an idle instance looks for due deliveries (events this process writes wake it at once). */
const POLL_MS = 200

/**
 * The delivery worker of `serve`: every instance runs one; the leases share the deliveries out
 * (services/webhook-delivery.ts). A full batch is followed at once by the next.
 */
export function startWebhookWorker(deps: AppDeps) {
  return startPollingWorker(deps.logger, {
    what: 'webhook delivery',
    pollMs: POLL_MS,
    subscribe: onEventsWritten,
    pass: async () => {
      const pass = await deliveryPass(deps)
      return pass.fanned + pass.attempted
    },
  })
}
