import type { AppDeps } from '../deps'
import { errorFields } from '../lib/logger'
import { onEventsWritten } from '../services/events'
import { deliveryPass } from '../services/webhook-delivery'

/** How often an idle instance looks for due deliveries (events this process writes wake it at once). */
const POLL_MS = 200

/**
 * The delivery worker of `serve`: every instance runs one; the leases share the deliveries out
 * (services/webhook-delivery.ts). A full batch is followed at once by the next; a failing pass
 * (the database away) is logged once per episode and tried again on the next tick.
 */
export function startWebhookWorker(deps: AppDeps) {
  let stopped = false
  let failing = false
  let wake: (() => void) | null = null
  let woken = false
  const unsubscribe = onEventsWritten(() => {
    woken = true
    wake?.()
  })
  const loop = (async () => {
    while (!stopped) {
      let sent = 0
      try {
        const pass = await deliveryPass(deps)
        sent = pass.fanned + pass.attempted
        failing = false
      } catch (error) {
        if (!failing) deps.logger.warn('webhook delivery pass failed; retrying', errorFields(error))
        failing = true
      }
      if (sent === 0 && !stopped && !woken)
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, POLL_MS)
        })
      woken = false
    }
  })()
  return {
    async stop() {
      stopped = true
      unsubscribe()
      wake?.()
      await loop
    },
  }
}
