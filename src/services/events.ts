import { and, eq, inArray, sql } from 'drizzle-orm'
import { exec, many } from '../../db/query'
import { preparedFor, type Tx } from '../../db/store'
import { erasureProcessors, webhookEndpoints, webhookEvents } from '../../db/tables'
import type { Clock } from '../lib/clock'
import { sha256Hex } from '../lib/crypto'
import { derivedServerSecret, hashUserId } from '../lib/pseudonym'

/** The event catalogue (docs/webhooks.md). Payloads carry ids and what changed, never an email or a name. */
export const EVENT_TYPES = [
  'account.created',
  'account.updated',
  'account.inactivity_warning',
  'account.deletion_scheduled',
  'account.deletion_canceled',
  'account.erasure_requested',
  'account.erased',
  'account.erasure_overdue',
  'api_key.created',
  'api_key.revoked',
  'subscription.created',
  'subscription.updated',
  'subscription.canceled',
  'app.deployed',
  'sandbox.quota_exceeded',
  'request.overdue',
  'export.ready',
  'webhook_endpoint.disabled',
  'operator.action',
] as const
export type EventType = (typeof EVENT_TYPES)[number]

/** What processors (endpoints with `processor: true`) receive whether or not they subscribed to it. */
export const ERASURE_REQUESTED: EventType = 'account.erasure_requested'

type EventData = Record<string, string | number | boolean | null | string[]>

const compactUuid = (clock: Clock) => Bun.randomUUIDv7('hex', clock.now()).replaceAll('-', '')

/** Event ids sort by creation (UUIDv7, monotonic within a millisecond): an account's events go out in that order. */
export const newEventId = (clock: Clock) => `evt_${compactUuid(clock)}`
export const newDeliveryId = (clock: Clock) => `whd_${compactUuid(clock)}`

// Prepared once: every write that announces something runs these (Drizzle's building would cost
// more than the statements).
const enabledEndpoints = preparedFor((orm) =>
  orm
    .select({
      id: webhookEndpoints.id,
      events: webhookEndpoints.events,
      processor: webhookEndpoints.processor,
    })
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.status, 'enabled'))
    .prepare(),
)
const insertEvent = preparedFor((orm) =>
  orm
    .insert(webhookEvents)
    .values({
      id: sql.placeholder('id'),
      type: sql.placeholder('type'),
      accountHash: sql.placeholder('accountHash'),
      data: sql.placeholder('data'),
      createdAt: sql.placeholder('now'),
    })
    .prepare(),
)
export const wants = (endpoint: { events: string[]; processor: boolean }, type: EventType) =>
  endpoint.events.includes('*') ||
  endpoint.events.includes(type) ||
  (type === ERASURE_REQUESTED && endpoint.processor)

/**
 * Writes `type` to the outbox inside `tx`, the transaction of the change it announces: it is
 * sent only if that change commits, and a committed change is always sent (at least once) to
 * the endpoints that want it when the worker fans it out. Nothing is written when no enabled
 * endpoint wants it now. `userId` orders the account's
 * events and is kept only as its keyed pseudonym; `data.user_id` is what receivers match on.
 * Returns the event id, or null when no endpoint wanted it.
 */
export async function emitEvent(
  tx: Tx,
  clock: Clock,
  type: EventType,
  userId: string | null,
  data: EventData,
): Promise<string | null> {
  const endpoints = (await many(enabledEndpoints(tx))).filter((endpoint) => wants(endpoint, type))
  if (endpoints.length === 0) return null
  const now = clock.now()
  const id = newEventId(clock)
  const accountHash = userId === null ? null : hashUserId(userId)
  // One row: the worker fans it out to the endpoints' deliveries (webhook-delivery.ts, fanOut).
  await exec(insertEvent(tx), { id, type, accountHash, data, now })
  wakeSoon()
  const erasureId = data.erasure_id
  if (type === ERASURE_REQUESTED && typeof erasureId === 'string') {
    const processors = endpoints.filter((endpoint) => endpoint.processor)
    if (processors.length > 0)
      await exec(
        tx
          .insert(erasureProcessors)
          .values(
            processors.map((endpoint) => ({
              deletionId: erasureId,
              endpointId: endpoint.id,
              tokenHash: sha256Hex(acknowledgementToken(erasureId, endpoint.id)),
              status: 'pending' as const,
              requestedAt: now,
            })),
          )
          .onConflictDoNothing(),
      )
  }
  return id
}

/**
 * The capability a processor POSTs to acknowledge an erasure: derived from the server key, the
 * erasure and the endpoint, so it is never stored (only its hash is) and every retry of the
 * delivery carries the same one.
 */
export function acknowledgementToken(erasureId: string, endpointId: string): string {
  return `ack_${new Bun.CryptoHasher('sha256', derivedServerSecret('erasure-ack')).update(`${erasureId}:${endpointId}`).digest('base64url')}`
}

/**
 * This process's delivery worker is woken a moment after an event is written (its transaction
 * has committed by then, or the worker finds nothing and waits for its next look): delivery in
 * milliseconds instead of up to a poll interval. Other instances find it on their next look.
 */
const wakeListeners = new Set<() => void>()
let wakeScheduled = false
const WAKE_DELAY_MS = 2

function wakeSoon() {
  if (wakeScheduled || wakeListeners.size === 0) return
  wakeScheduled = true
  setTimeout(() => {
    wakeScheduled = false
    for (const listener of wakeListeners) listener()
  }, WAKE_DELAY_MS)
}

/** Calls `listener` shortly after events are written; returns the unsubscribe. */
export function onEventsWritten(listener: () => void): () => void {
  wakeListeners.add(listener)
  return () => wakeListeners.delete(listener)
}

/** Deletes those of `eventIds` that no delivery refers to any more (an event's data names its account). */
export async function dropEventsNobodyAwaits(tx: Tx, eventIds: string[]) {
  const ids = [...new Set(eventIds)]
  for (let i = 0; i < ids.length; i += 500)
    await exec(
      tx
        .delete(webhookEvents)
        .where(
          and(
            inArray(webhookEvents.id, ids.slice(i, i + 500)),
            sql`NOT EXISTS (SELECT 1 FROM webhook_deliveries other WHERE other.event_id = ${webhookEvents.id})`,
          ),
        ),
    )
}
