import { and, asc, eq, inArray, isNull, lt, lte, ne, or, sql } from 'drizzle-orm'
import { exec, many, one } from '../../db/query'
import { readTransaction, type Store, type Tx, writeTransaction } from '../../db/store'
import { erasureProcessors, webhookDeliveries, webhookEndpoints, webhookEvents } from '../../db/tables'
import type { Config } from '../config'
import type { Clock } from '../lib/clock'
import { errorFields, type Logger } from '../lib/logger'
import type { Metrics } from '../lib/metrics'
import { checkWebhookUrl } from '../lib/public-address'
import { signWebhook } from '../lib/webhook-signature'
import { acknowledgementToken, ERASURE_REQUESTED, emitEvent } from './events'
import { type DeliveryRow, type EndpointRow, signingSecrets } from './webhook-endpoints'

export interface DeliveryDeps {
  store: Store
  clock: Clock
  config: Pick<Config, 'webhooks' | 'publicUrl'>
  logger: Logger
  metrics?: Metrics
}

/** An endpoint whose deliveries have failed for this long is disabled (and an event says so). */
export const DISABLE_AFTER_FAILING_MS = 3 * 24 * 3600 * 1000
/** A claimed delivery is this instance's for its timeout plus this margin; a crashed sender's lease expires. */
const LEASE_MARGIN_MS = 5_000
const BATCH = 64
const STORED_ERROR_BYTES = 1024

/**
 * Sends what is due, once per delivery across instances: each delivery is claimed by a lease
 * (a conditional UPDATE only one instance wins; an instance killed mid-send loses it when it
 * expires, and the delivery goes again with the same `webhook-id`). An account's deliveries to
 * an endpoint go one at a time, in event order: one waits while an earlier one is pending.
 * Endpoints are served concurrently. Returns how many deliveries were attempted.
 */
export async function deliverDue(deps: DeliveryDeps): Promise<number> {
  const claimed = await claimDue(deps)
  if (claimed.length === 0) return 0
  const events = await loadEvents(deps.store, [...new Set(claimed.map((d) => d.eventId))])
  const endpoints = await loadEndpoints(deps.store, [...new Set(claimed.map((d) => d.endpointId))])
  await Promise.all(
    claimed.map(async (delivery) => {
      const endpoint = endpoints.get(delivery.endpointId)
      const event = events.get(delivery.eventId)
      if (!endpoint || !event) return
      const outcome = await send(deps, endpoint, event)
      await record(deps, delivery, endpoint, outcome).catch((error) =>
        deps.logger.warn('could not record a webhook delivery', {
          delivery: delivery.id,
          ...errorFields(error),
        }),
      )
    }),
  )
  return claimed.length
}

async function claimDue(deps: DeliveryDeps): Promise<DeliveryRow[]> {
  const now = deps.clock.now()
  const free = or(isNull(webhookDeliveries.lockedUntil), lt(webhookDeliveries.lockedUntil, now))
  return writeTransaction(deps.store, async (tx) => {
    const due = await many(
      tx
        .select({ id: webhookDeliveries.id })
        .from(webhookDeliveries)
        .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
        .where(
          and(
            eq(webhookDeliveries.status, 'pending'),
            lte(webhookDeliveries.nextAttemptAt, now),
            free,
            eq(webhookEndpoints.status, 'enabled'),
            sql`NOT EXISTS (SELECT 1 FROM webhook_deliveries earlier WHERE earlier.endpoint_id = ${webhookDeliveries.endpointId} AND earlier.ordering_key = ${webhookDeliveries.orderingKey} AND earlier.status = 'pending' AND earlier.event_id < ${webhookDeliveries.eventId})`,
          ),
        )
        .orderBy(asc(webhookDeliveries.nextAttemptAt))
        .limit(BATCH),
    )
    if (due.length === 0) return []
    // IMPORTANT: the conditions again in the UPDATE: of two instances that selected the same
    // delivery, only the first to update it gets it back (PostgreSQL re-checks them after waiting).
    return (await many(
      tx
        .update(webhookDeliveries)
        .set({ lockedUntil: now + deps.config.webhooks.timeoutMs + LEASE_MARGIN_MS })
        .where(
          and(
            inArray(
              webhookDeliveries.id,
              due.map((d) => d.id),
            ),
            eq(webhookDeliveries.status, 'pending'),
            free,
          ),
        )
        .returning(),
    )) as DeliveryRow[]
  })
}

type EventRow = typeof webhookEvents.$inferSelect

async function loadEvents(store: Store, ids: string[]) {
  const rows = await readTransaction(store, (tx) =>
    many(tx.select().from(webhookEvents).where(inArray(webhookEvents.id, ids))),
  )
  return new Map(rows.map((row) => [row.id, row as EventRow]))
}

async function loadEndpoints(store: Store, ids: string[]) {
  const rows = await readTransaction(store, (tx) =>
    many(tx.select().from(webhookEndpoints).where(inArray(webhookEndpoints.id, ids))),
  )
  return new Map(rows.map((row) => [row.id, row as EndpointRow]))
}

type Outcome = { ok: true; status: number } | { ok: false; status: number | null; error: string }

/** The JSON body of an event for one endpoint (a processor's erasure request carries its acknowledgement URL). */
export function eventBody(event: EventRow, endpoint: EndpointRow, publicUrl: string): string {
  const data: Record<string, unknown> = { ...event.data }
  if (event.type === ERASURE_REQUESTED && endpoint.processor && typeof data.erasure_id === 'string')
    data.acknowledge_url = `${publicUrl}/v1/erasure-acknowledgements/${acknowledgementToken(data.erasure_id, endpoint.id)}`
  return JSON.stringify({
    id: event.id,
    type: event.type,
    created_at: new Date(event.createdAt).toISOString(),
    data,
  })
}

async function send(deps: DeliveryDeps, endpoint: EndpointRow, event: EventRow): Promise<Outcome> {
  try {
    // Again at every delivery: the name may resolve to an internal address by now (DNS rebinding).
    await checkWebhookUrl(endpoint.url, deps.config.webhooks)
    const body = eventBody(event, endpoint, deps.config.publicUrl)
    const timestamp = Math.floor(deps.clock.now() / 1000)
    const response = await fetch(endpoint.url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(deps.config.webhooks.timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Custodian-Webhooks/1',
        'webhook-id': event.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(
          signingSecrets(endpoint, deps.clock.now()),
          event.id,
          timestamp,
          body,
        ),
      },
    })
    // The receiver's answer is not kept (it could hold anything); only its status.
    await response.body?.cancel().catch(() => {})
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status }
    const moved = response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : ''
    return { ok: false, status: response.status, error: `the endpoint answered ${response.status}${moved}` }
  } catch (error) {
    const message =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${deps.config.webhooks.timeoutMs / 1000} s`
        : String((error as Error).message ?? error)
    return { ok: false, status: null, error: message.slice(0, STORED_ERROR_BYTES) }
  }
}

async function record(deps: DeliveryDeps, delivery: DeliveryRow, endpoint: EndpointRow, outcome: Outcome) {
  const { retrySeconds } = deps.config.webhooks
  await writeTransaction(deps.store, async (tx) => {
    const now = deps.clock.now()
    const attempts = delivery.attempts + 1
    if (outcome.ok) {
      await exec(
        tx
          .update(webhookDeliveries)
          .set({
            status: 'succeeded',
            attempts,
            lastStatusCode: outcome.status,
            lastError: null,
            lockedUntil: null,
            updatedAt: now,
          })
          .where(eq(webhookDeliveries.id, delivery.id)),
      )
      if (endpoint.failingSince !== null)
        await exec(
          tx.update(webhookEndpoints).set({ failingSince: null }).where(eq(webhookEndpoints.id, endpoint.id)),
        )
      if (delivery.eventType === ERASURE_REQUESTED)
        await markProcessor(tx, delivery, endpoint, 'delivered', now)
      // An event every endpoint has received is not kept (its data names the account).
      const open = await one(
        tx
          .select({ id: webhookDeliveries.id })
          .from(webhookDeliveries)
          .where(
            and(eq(webhookDeliveries.eventId, delivery.eventId), ne(webhookDeliveries.status, 'succeeded')),
          ),
      )
      if (!open) await exec(tx.delete(webhookEvents).where(eq(webhookEvents.id, delivery.eventId)))
      deps.metrics?.webhookDelivery('succeeded')
      return
    }
    const exhausted = attempts > retrySeconds.length
    const delay = (retrySeconds[attempts - 1] ?? 0) * 1000
    // ±10% jitter: endpoints that failed together do not all come back at the same second.
    const jittered = Math.round(delay * (0.9 + Math.random() * 0.2))
    await exec(
      tx
        .update(webhookDeliveries)
        .set({
          status: exhausted ? 'failed' : 'pending',
          attempts,
          nextAttemptAt: exhausted ? now : now + jittered,
          lastStatusCode: outcome.status,
          lastError: outcome.error,
          lockedUntil: null,
          updatedAt: now,
        })
        .where(eq(webhookDeliveries.id, delivery.id)),
    )
    deps.metrics?.webhookDelivery(exhausted ? 'failed' : 'retrying')
    if (exhausted && delivery.eventType === ERASURE_REQUESTED)
      await markProcessor(tx, delivery, endpoint, 'failed', now)
    const failingSince = endpoint.failingSince ?? now
    if (endpoint.failingSince === null)
      await exec(
        tx
          .update(webhookEndpoints)
          .set({ failingSince: now })
          .where(and(eq(webhookEndpoints.id, endpoint.id), isNull(webhookEndpoints.failingSince))),
      )
    else if (now - failingSince >= DISABLE_AFTER_FAILING_MS) {
      const disabled = await exec(
        tx
          .update(webhookEndpoints)
          .set({ status: 'disabled', disabledReason: 'deliveries failed for 3 days', updatedAt: now })
          .where(and(eq(webhookEndpoints.id, endpoint.id), eq(webhookEndpoints.status, 'enabled'))),
      )
      if (disabled.changes === 1)
        await emitEvent(tx, deps.clock, 'webhook_endpoint.disabled', null, {
          endpoint_id: endpoint.id,
          reason: 'deliveries failed for 3 days',
        })
    }
  })
}

async function markProcessor(
  tx: Tx,
  delivery: DeliveryRow,
  endpoint: EndpointRow,
  status: 'delivered' | 'failed',
  now: number,
) {
  if (!endpoint.processor) return
  const event = await one(
    tx.select({ data: webhookEvents.data }).from(webhookEvents).where(eq(webhookEvents.id, delivery.eventId)),
  )
  const erasureId = event?.data.erasure_id
  if (typeof erasureId !== 'string') return
  await exec(
    tx
      .update(erasureProcessors)
      .set(status === 'delivered' ? { status, deliveredAt: now } : { status })
      .where(
        and(
          eq(erasureProcessors.deletionId, erasureId),
          eq(erasureProcessors.endpointId, endpoint.id),
          or(eq(erasureProcessors.status, 'pending'), eq(erasureProcessors.status, 'failed')),
        ),
      ),
  )
}

/** Sends everything due now, batch after batch (`custodian purge`, tests). Returns how many were attempted. */
export async function deliverAllDue(deps: DeliveryDeps): Promise<number> {
  let total = 0
  for (let sent = await deliverDue(deps); sent > 0; sent = await deliverDue(deps)) total += sent
  return total
}
