import type { AppDeps } from './deps'
import { isAppError } from './errors'
import { toRfc3339 } from './lib/time'
import { projectDeliveryForV1, projectEndpointForV1 } from './projections/webhooks'
import { EVENT_TYPES } from './services/events'
import { createEndpoint, listDeliveries, listEndpoints, retryDelivery } from './services/webhook-endpoints'

type Out = (line: string) => void
interface WebhookFlags {
  url?: string
  events?: string
  processor?: boolean
  format?: string
  id?: string
  json?: boolean
}

/**
 * `custodian webhooks create|list|deliveries|retry`: the operator routes of /v1/admin/webhook-endpoints
 * from the command line (same services, same checks). Answers the exit code.
 */
export async function webhooksCommand(command: string, deps: AppDeps, flags: WebhookFlags, out: Out) {
  try {
    switch (command) {
      case 'webhooks create': {
        if (!flags.url) throw new Error('--url is required')
        const events = (flags.events ?? '*').split(',').map((e) => e.trim())
        const unknown = events.filter((e) => e !== '*' && !(EVENT_TYPES as readonly string[]).includes(e))
        if (unknown.length)
          throw new Error(`no such event: ${unknown.join(', ')} (known: ${EVENT_TYPES.join(', ')})`)
        if (flags.format && flags.format !== 'standard' && flags.format !== 'set')
          throw new Error('--format is standard or set')
        const { row, secret } = await createEndpoint(deps, {
          url: flags.url,
          events,
          processor: flags.processor === true,
          format: (flags.format as 'standard' | 'set' | undefined) ?? 'standard',
        })
        if (flags.json) out(JSON.stringify({ ...projectEndpointForV1(row), secret }))
        else {
          out(`Created webhook endpoint ${row.id} → ${row.url} (${row.events.join(', ')})`)
          out('Signing secret (shown once, keep it safe):')
          out(secret)
        }
        return 0
      }
      case 'webhooks list': {
        const rows = await listEndpoints(deps.store, 200, null)
        if (flags.json) out(JSON.stringify({ webhook_endpoints: rows.map(projectEndpointForV1) }))
        else if (rows.length === 0) out('No webhook endpoints.')
        else
          for (const e of rows)
            out(
              `${e.id}  ${e.status.padEnd(8)}  ${e.url}  [${e.events.join(',')}]${e.processor ? ' processor' : ''}${e.format === 'set' ? ' set' : ''}`,
            )
        return 0
      }
      case 'webhooks deliveries': {
        if (!flags.id) throw new Error('--id ENDPOINT is required')
        const rows = await listDeliveries(deps.store, flags.id, 50, null)
        if (flags.json) out(JSON.stringify({ deliveries: rows.map(projectDeliveryForV1) }))
        else if (rows.length === 0) out('No deliveries.')
        else
          for (const d of rows)
            out(
              `${d.id}  ${d.status.padEnd(9)}  ${d.eventType.padEnd(26)}  attempts ${d.attempts}  ${d.lastStatusCode ?? '-'}  ${d.status === 'pending' ? `next ${toRfc3339(d.nextAttemptAt)}` : (d.lastError ?? '')}`,
            )
        return 0
      }
      default: {
        if (!flags.id) throw new Error('--id DELIVERY is required')
        const row = await retryDelivery(deps, flags.id)
        if (flags.json) out(JSON.stringify(projectDeliveryForV1(row)))
        else out(`Delivery ${row.id} will be sent again by the next worker pass (serve, or custodian purge).`)
        return 0
      }
    }
  } catch (error) {
    // The services' refusals (a private address, an unknown endpoint) as one line, like the API's message.
    process.stderr.write(`${isAppError(error) ? error.message : (error as Error).message}\n`)
    return 1
  }
}
