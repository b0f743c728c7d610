import { and, asc, eq, inArray, isNull, lt, lte, ne, or, sql } from 'drizzle-orm'
import { exec, many, one } from '../../db/query'
import { readTransaction, type Store, type Tx, writeTransaction } from '../../db/store'
import { erasureProcessors, webhookDeliveries, webhookEndpoints, webhookEvents } from '../../db/tables'
import type { Config } from '../config'
import type { Clock } from '../lib/clock'
import { errorFields, type Logger } from '../lib/logger'
import type { Metrics } from '../lib/metrics'
import { checkWebhookUrl } from '../lib/public-address'
import { signSecurityEvent } from '../lib/security-event-key'
import { signWebhook } from '../lib/webhook-signature'
import {
  acknowledgementToken,
  dropEventsNobodyAwaits,
  ERASURE_REQUESTED,
  type EventType,
  emitEvent,
  newDeliveryId,
  wants,
} from './events'
import { type DeliveryRow, type EndpointRow, SET_EVENT, signingSecrets } from './webhook-endpoints'

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
  return (await deliveryPass(deps)).attempted
}

/** New events fanned out, then due deliveries sent: what one pass of the worker did. */
export async function deliveryPass(deps: DeliveryDeps): Promise<{ fanned: number; attempted: number }> {
  const fanned = await fanOut(deps)
  return { fanned, attempted: await sendDue(deps) }
}

async function sendDue(deps: DeliveryDeps): Promise<number> {
  const claimed = await claimDue(deps)
  if (claimed.length === 0) return 0
  const { events, endpoints } = await readTransaction(deps.store, async (tx) => ({
    events: await many(
      tx
        .select()
        .from(webhookEvents)
        .where(inArray(webhookEvents.id, [...new Set(claimed.map((d) => d.eventId))])),
    ),
    endpoints: await many(
      tx
        .select()
        .from(webhookEndpoints)
        .where(inArray(webhookEndpoints.id, [...new Set(claimed.map((d) => d.endpointId))])),
    ),
  }))
  const eventById = new Map(events.map((row) => [row.id, row as EventRow]))
  const endpointById = new Map(endpoints.map((row) => [row.id, row as EndpointRow]))
  const attempts = await Promise.all(
    claimed.map(async (delivery): Promise<Attempt | null> => {
      const endpoint = endpointById.get(delivery.endpointId)
      const event = eventById.get(delivery.eventId)
      if (!endpoint || !event) return null
      return { delivery, endpoint, event, outcome: await send(deps, endpoint, event) }
    }),
  )
  // The batch's outcomes in one transaction (a lost record only means the delivery goes again
  // when its lease expires: at least once).
  await recordAll(
    deps,
    attempts.filter((a): a is Attempt => a !== null),
  ).catch((error) => deps.logger.warn('could not record webhook deliveries', errorFields(error)))
  return claimed.length
}

const FAN_OUT_BATCH = 500

/**
 * Turns new outbox events into deliveries, one per endpoint that wants each (subscribed now,
 * enabled), in one transaction for a whole batch. Events are taken by a conditional UPDATE, so
 * of several instances only one fans out each. An event no endpoint wants any more is dropped.
 * Returns how many events were fanned out.
 */
export async function fanOut(deps: Pick<DeliveryDeps, 'store' | 'clock'>): Promise<number> {
  // Looked for in a read transaction: an idle worker never takes the write lock (SQLite).
  const fresh = await readTransaction(deps.store, (tx) =>
    many(
      tx
        .select({ id: webhookEvents.id })
        .from(webhookEvents)
        .where(eq(webhookEvents.fannedOut, false))
        .orderBy(asc(webhookEvents.id))
        .limit(FAN_OUT_BATCH),
    ),
  )
  if (fresh.length === 0) return 0
  return writeTransaction(deps.store, async (tx) => {
    const taken = await many(
      tx
        .update(webhookEvents)
        .set({ fannedOut: true })
        .where(
          and(
            inArray(
              webhookEvents.id,
              fresh.map((e) => e.id),
            ),
            eq(webhookEvents.fannedOut, false),
          ),
        )
        .returning({
          id: webhookEvents.id,
          type: webhookEvents.type,
          accountHash: webhookEvents.accountHash,
        }),
    )
    const endpoints = await many(
      tx
        .select({
          id: webhookEndpoints.id,
          events: webhookEndpoints.events,
          processor: webhookEndpoints.processor,
        })
        .from(webhookEndpoints)
        .where(eq(webhookEndpoints.status, 'enabled')),
    )
    const now = deps.clock.now()
    const deliveries = []
    const unwanted: string[] = []
    for (const event of taken.sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const to = endpoints.filter((endpoint) => wants(endpoint, event.type as EventType))
      if (to.length === 0) unwanted.push(event.id)
      for (const endpoint of to)
        deliveries.push({
          id: newDeliveryId(deps.clock),
          eventId: event.id,
          eventType: event.type,
          endpointId: endpoint.id,
          orderingKey: event.accountHash ?? event.id,
          status: 'pending' as const,
          attempts: 0,
          nextAttemptAt: now,
          createdAt: now,
          updatedAt: now,
        })
    }
    for (let i = 0; i < deliveries.length; i += 200)
      await exec(tx.insert(webhookDeliveries).values(deliveries.slice(i, i + 200)))
    if (unwanted.length > 0) await exec(tx.delete(webhookEvents).where(inArray(webhookEvents.id, unwanted)))
    return taken.length
  })
}

interface Attempt {
  delivery: DeliveryRow
  endpoint: EndpointRow
  event: EventRow
  outcome: Outcome
}

async function claimDue(deps: DeliveryDeps): Promise<DeliveryRow[]> {
  const now = deps.clock.now()
  const free = or(isNull(webhookDeliveries.lockedUntil), lt(webhookDeliveries.lockedUntil, now))
  // Looked for in a read transaction, like fanOut's events: an idle worker takes no write lock.
  const due = await readTransaction(deps.store, (tx) =>
    many(
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
            // IMPORTANT: nor while an earlier event of the account is not fanned out yet (another
            // instance may be fanning it out right now, its deliveries not committed).
            sql`NOT EXISTS (SELECT 1 FROM webhook_events unfanned WHERE unfanned.fanned_out = ${false} AND unfanned.account_hash = ${webhookDeliveries.orderingKey} AND unfanned.id < ${webhookDeliveries.eventId})`,
          ),
        )
        .orderBy(asc(webhookDeliveries.nextAttemptAt))
        .limit(BATCH),
    ),
  )
  if (due.length === 0) return []
  return writeTransaction(deps.store, async (tx) => {
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

const ACCOUNT_PURGED = 'https://schemas.openid.net/secevent/risc/event-type/account-purged'

/**
 * account.erased as an OpenID Shared Signals / RISC `account-purged` Security Event Token (RFC
 * 8417), pushed as RFC 8935 says (`application/secevent+jwt`). The subject is the user id as an
 * opaque identifier — what the receiver stored before; keys at /.well-known/custodian/security-event-keys.
 */
export function securityEventToken(
  event: EventRow,
  endpoint: EndpointRow,
  deps: Pick<DeliveryDeps, 'config'>,
) {
  return signSecurityEvent({
    iss: deps.config.publicUrl,
    aud: endpoint.url,
    iat: Math.floor(event.createdAt / 1000),
    jti: event.id,
    txn: event.data.erasure_id,
    sub_id: { format: 'opaque', id: event.data.user_id },
    events: { [ACCOUNT_PURGED]: {} },
  })
}

async function send(deps: DeliveryDeps, endpoint: EndpointRow, event: EventRow): Promise<Outcome> {
  try {
    // Again at every delivery: the name may resolve to an internal address by now (DNS rebinding).
    await checkWebhookUrl(endpoint.url, deps.config.webhooks)
    const set = endpoint.format === 'set' && event.type === SET_EVENT
    const body = set
      ? await securityEventToken(event, endpoint, deps)
      : eventBody(event, endpoint, deps.config.publicUrl)
    const timestamp = Math.floor(deps.clock.now() / 1000)
    const response = await fetch(endpoint.url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(deps.config.webhooks.timeoutMs),
      headers: {
        'content-type': set ? 'application/secevent+jwt' : 'application/json',
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

async function recordAll(deps: DeliveryDeps, attempts: Attempt[]) {
  if (attempts.length === 0) return
  const { retrySeconds } = deps.config.webhooks
  await writeTransaction(deps.store, async (tx) => {
    const now = deps.clock.now()
    const succeeded = attempts.filter((a) => a.outcome.ok)
    // Successes by status code: one UPDATE each (nearly always a single one).
    const byStatus = new Map<number, string[]>()
    for (const a of succeeded) {
      const code = a.outcome.status as number
      byStatus.set(code, [...(byStatus.get(code) ?? []), a.delivery.id])
    }
    for (const [code, ids] of byStatus)
      await exec(
        tx
          .update(webhookDeliveries)
          .set({
            status: 'succeeded',
            attempts: sql`${webhookDeliveries.attempts} + 1`,
            lastStatusCode: code,
            lastError: null,
            lockedUntil: null,
            updatedAt: now,
          })
          .where(inArray(webhookDeliveries.id, ids)),
      )
    const recovered = [
      ...new Set(succeeded.filter((a) => a.endpoint.failingSince !== null).map((a) => a.endpoint.id)),
    ]
    if (recovered.length > 0)
      await exec(
        tx
          .update(webhookEndpoints)
          .set({ failingSince: null })
          .where(inArray(webhookEndpoints.id, recovered)),
      )
    for (const a of succeeded)
      if (a.delivery.eventType === ERASURE_REQUESTED)
        await markProcessor(tx, a.event, a.endpoint, 'delivered', now)
    // An event every endpoint has received is not kept (its data names the account).
    if (succeeded.length > 0)
      await exec(
        tx
          .delete(webhookEvents)
          .where(
            and(
              inArray(webhookEvents.id, [...new Set(succeeded.map((a) => a.event.id))]),
              sql`NOT EXISTS (SELECT 1 FROM webhook_deliveries open WHERE open.event_id = ${webhookEvents.id} AND open.status <> 'succeeded')`,
            ),
          ),
      )
    for (const a of attempts.filter((x) => !x.outcome.ok)) await recordFailure(tx, deps, a, now, retrySeconds)
  })
  for (const a of attempts)
    deps.metrics?.webhookDelivery(
      a.outcome.ok ? 'succeeded' : a.delivery.attempts + 1 > retrySeconds.length ? 'failed' : 'retrying',
    )
}

async function recordFailure(tx: Tx, deps: DeliveryDeps, a: Attempt, now: number, retrySeconds: number[]) {
  if (a.outcome.ok) return
  const { delivery, endpoint, outcome } = a
  const attempts = delivery.attempts + 1
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
  if (exhausted && delivery.eventType === ERASURE_REQUESTED)
    await markProcessor(tx, a.event, endpoint, 'failed', now)
  // The endpoint's state as this transaction sees it (another failure of the batch may have set it).
  const current = await one(
    tx
      .select({ failingSince: webhookEndpoints.failingSince, status: webhookEndpoints.status })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.id, endpoint.id)),
  )
  if (!current) return
  if (current.failingSince === null)
    await exec(
      tx.update(webhookEndpoints).set({ failingSince: now }).where(eq(webhookEndpoints.id, endpoint.id)),
    )
  else if (current.status === 'enabled' && now - current.failingSince >= DISABLE_AFTER_FAILING_MS) {
    await exec(
      tx
        .update(webhookEndpoints)
        .set({ status: 'disabled', disabledReason: 'deliveries failed for 3 days', updatedAt: now })
        .where(eq(webhookEndpoints.id, endpoint.id)),
    )
    await emitEvent(tx, deps.clock, 'webhook_endpoint.disabled', null, {
      endpoint_id: endpoint.id,
      reason: 'deliveries failed for 3 days',
    })
  }
}

async function markProcessor(
  tx: Tx,
  event: EventRow,
  endpoint: EndpointRow,
  status: 'delivered' | 'failed',
  now: number,
) {
  if (!endpoint.processor) return
  const erasureId = event.data.erasure_id
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
  for (;;) {
    const pass = await deliveryPass(deps)
    total += pass.attempted
    if (pass.fanned === 0 && pass.attempted === 0) return total
  }
}

/** How long finished deliveries stay listed (and a failed one's event stays for a retry). */
export const DELIVERY_RETENTION_MS = 30 * 24 * 3600 * 1000

/**
 * Removes deliveries finished more than 30 days ago, and the events of failed ones (an event's
 * data names the account: it is not kept past its use). Returns how many deliveries went.
 */
export async function reapWebhookDeliveries(deps: Pick<DeliveryDeps, 'store' | 'clock'>): Promise<number> {
  const cutoff = deps.clock.now() - DELIVERY_RETENTION_MS
  return writeTransaction(deps.store, async (tx) => {
    const finished = and(ne(webhookDeliveries.status, 'pending'), lt(webhookDeliveries.updatedAt, cutoff))
    const removed = await many(
      tx.delete(webhookDeliveries).where(finished).returning({ eventId: webhookDeliveries.eventId }),
    )
    await dropEventsNobodyAwaits(
      tx,
      removed.map((r) => r.eventId),
    )
    return removed.length
  })
}
