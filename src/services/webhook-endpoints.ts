import { and, desc, eq, lt, or } from 'drizzle-orm'
import { olderThan } from '../../db/keyset'
import { exec, many, one } from '../../db/query'
import { readTransaction, type Store, writeTransaction } from '../../db/store'
import { webhookDeliveries, webhookEndpoints } from '../../db/tables'
import type { Config } from '../config'
import { AppError, fieldError } from '../errors'
import type { Clock } from '../lib/clock'
import { randomBase62 } from '../lib/ids'
import { checkWebhookUrl } from '../lib/public-address'
import { openSecret, sealSecret } from '../lib/sealed-secret'
import { newWebhookSecret } from '../lib/webhook-signature'
import { dropEventsNobodyAwaits } from './events'

export type EndpointRow = typeof webhookEndpoints.$inferSelect
export type DeliveryRow = typeof webhookDeliveries.$inferSelect

/** How long the secret before a rotation keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000

interface EndpointDeps {
  store: Store
  clock: Clock
  config: Pick<Config, 'webhooks'>
}

export interface EndpointInput {
  url: string
  events: string[]
  processor?: boolean
  format?: 'standard' | 'set'
  description?: string | null
}

/** The event a `set` endpoint receives, as a RISC account-purged Security Event Token. */
export const SET_EVENT = 'account.erased'

/** `format: set` carries one event type; a processor needs the JSON erasure request with its link. */
function checkFormat(format: 'standard' | 'set', events: string[], processor: boolean) {
  if (format !== 'set') return
  if (events.length !== 1 || events[0] !== SET_EVENT)
    throw fieldError(
      'events',
      `must be ["${SET_EVENT}"] with format "set" (sent as a RISC account-purged token)`,
    )
  if (processor) throw fieldError('processor', 'must be false with format "set"')
}

const noSuchEndpoint = () => new AppError('NOT_FOUND', 'No such webhook endpoint.')

export async function createEndpoint(deps: EndpointDeps, input: EndpointInput) {
  checkFormat(input.format ?? 'standard', input.events, input.processor ?? false)
  await checkWebhookUrl(input.url, deps.config.webhooks)
  const secret = newWebhookSecret()
  const now = deps.clock.now()
  const row = await writeTransaction(deps.store, (tx) =>
    one(
      tx
        .insert(webhookEndpoints)
        .values({
          id: `we_${randomBase62(22)}`,
          url: input.url,
          events: [...new Set(input.events)],
          processor: input.processor ?? false,
          format: input.format ?? 'standard',
          description: input.description ?? null,
          status: 'enabled',
          secret: sealSecret(secret),
          createdAt: now,
          updatedAt: now,
        })
        .returning(),
    ),
  )
  return { row: row as EndpointRow, secret }
}

export async function getEndpoint(store: Store, id: string): Promise<EndpointRow> {
  const row = await readTransaction(store, (tx) =>
    one(tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id))),
  )
  if (!row) throw noSuchEndpoint()
  return row
}

/** Newest first, keyset-paged on (created_at, id). */
export function listEndpoints(store: Store, limit: number, after: { at: number; id: string } | null) {
  return readTransaction(store, (tx) =>
    many(
      tx
        .select()
        .from(webhookEndpoints)
        .where(olderThan(webhookEndpoints.createdAt, webhookEndpoints.id, after))
        .orderBy(desc(webhookEndpoints.createdAt), desc(webhookEndpoints.id))
        .limit(limit),
    ),
  )
}

export interface EndpointPatch {
  url?: string
  events?: string[]
  description?: string | null
  status?: 'enabled' | 'disabled'
}

export async function updateEndpoint(deps: EndpointDeps, id: string, patch: EndpointPatch) {
  if (patch.events !== undefined) {
    const current = await getEndpoint(deps.store, id)
    checkFormat(current.format, patch.events, current.processor)
  }
  if (patch.url !== undefined) await checkWebhookUrl(patch.url, deps.config.webhooks)
  const row = await writeTransaction(deps.store, (tx) =>
    one(
      tx
        .update(webhookEndpoints)
        .set({
          ...(patch.url !== undefined ? { url: patch.url } : {}),
          ...(patch.events !== undefined ? { events: [...new Set(patch.events)] } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
          // Enabling again forgets the failures that disabled it.
          ...(patch.status === 'enabled'
            ? { status: 'enabled' as const, disabledReason: null, failingSince: null }
            : {}),
          ...(patch.status === 'disabled'
            ? { status: 'disabled' as const, disabledReason: 'disabled by an operator' }
            : {}),
          updatedAt: deps.clock.now(),
        })
        .where(eq(webhookEndpoints.id, id))
        .returning(),
    ),
  )
  if (!row) throw noSuchEndpoint()
  return row as EndpointRow
}

/**
 * Removes the endpoint and its deliveries (pending ones are never sent), and the events no other
 * endpoint still has to receive (their data names accounts).
 */
export async function deleteEndpoint(store: Store, id: string) {
  await writeTransaction(store, async (tx) => {
    const removed = await exec(tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)))
    if (removed.changes === 0) throw noSuchEndpoint()
    const events = await many(
      tx
        .delete(webhookDeliveries)
        .where(eq(webhookDeliveries.endpointId, id))
        .returning({ eventId: webhookDeliveries.eventId }),
    )
    await dropEventsNobodyAwaits(
      tx,
      events.map((e) => e.eventId),
    )
  })
}

/** A new secret; the current one keeps signing beside it for 24 hours (two signatures a delivery). */
export async function rotateEndpointSecret(deps: EndpointDeps, id: string) {
  const secret = newWebhookSecret()
  const now = deps.clock.now()
  const row = await writeTransaction(deps.store, async (tx) => {
    const current = await one(tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)))
    if (!current) throw noSuchEndpoint()
    return one(
      tx
        .update(webhookEndpoints)
        .set({
          secret: sealSecret(secret),
          previousSecret: current.secret,
          previousSecretUntil: now + ROTATION_OVERLAP_MS,
          updatedAt: now,
        })
        .where(eq(webhookEndpoints.id, id))
        .returning(),
    )
  })
  return { row: row as EndpointRow, secret }
}

/**
 * The secrets a delivery is signed with now: the current one, and the one before a rotation
 * during its overlap. A secret sealed under another server key is unusable: the delivery fails
 * with that reason rather than being signed with something the receiver cannot check.
 */
export function signingSecrets(endpoint: EndpointRow, now: number): string[] {
  const current = openSecret(endpoint.secret)
  if (current === null)
    throw new Error('the endpoint secret cannot be opened with this server key (PSEUDONYM_KEY)')
  const previous =
    endpoint.previousSecret && (endpoint.previousSecretUntil ?? 0) > now
      ? openSecret(endpoint.previousSecret)
      : null
  return previous ? [current, previous] : [current]
}

/** One endpoint's deliveries, newest first, keyset-paged on the id (time-ordered). */
export async function listDeliveries(store: Store, endpointId: string, limit: number, before: string | null) {
  await getEndpoint(store, endpointId)
  return readTransaction(store, (tx) =>
    many(
      tx
        .select()
        .from(webhookDeliveries)
        .where(
          and(
            eq(webhookDeliveries.endpointId, endpointId),
            before ? lt(webhookDeliveries.id, before) : undefined,
          ),
        )
        .orderBy(desc(webhookDeliveries.id))
        .limit(limit),
    ),
  )
}

/** Sends a delivery again now (a failed one gets a new round of attempts). */
export async function retryDelivery(deps: EndpointDeps, deliveryId: string) {
  const now = deps.clock.now()
  const row = await writeTransaction(deps.store, (tx) =>
    one(
      tx
        .update(webhookDeliveries)
        .set({ status: 'pending', attempts: 0, nextAttemptAt: now, lockedUntil: null, updatedAt: now })
        .where(
          and(
            eq(webhookDeliveries.id, deliveryId),
            or(eq(webhookDeliveries.status, 'failed'), eq(webhookDeliveries.status, 'pending')),
          ),
        )
        .returning(),
    ),
  )
  if (!row) {
    const exists = await readTransaction(deps.store, (tx) =>
      one(
        tx
          .select({ id: webhookDeliveries.id })
          .from(webhookDeliveries)
          .where(eq(webhookDeliveries.id, deliveryId)),
      ),
    )
    if (!exists) throw new AppError('NOT_FOUND', 'No such delivery.')
    throw new AppError('CONFLICT', 'The delivery already succeeded.')
  }
  return row as DeliveryRow
}

/**
 * For /readyz: `none` (no enabled endpoint), `ok`, or `failing` (an enabled endpoint's deliveries
 * are failing). Informational: a receiver being down does not make this instance unready.
 */
export async function webhookHealth(store: Store): Promise<'none' | 'ok' | 'failing'> {
  const endpoints = await readTransaction(store, (tx) =>
    many(
      tx
        .select({ failingSince: webhookEndpoints.failingSince })
        .from(webhookEndpoints)
        .where(eq(webhookEndpoints.status, 'enabled')),
    ),
  )
  if (endpoints.length === 0) return 'none'
  return endpoints.some((e) => e.failingSince !== null) ? 'failing' : 'ok'
}
