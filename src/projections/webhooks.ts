import { t } from 'elysia'
import { toRfc3339 } from '../lib/time'
import type { ProcessorRow } from '../services/erasure-processors'
import { EVENT_TYPES } from '../services/events'
import type { DeliveryRow, EndpointRow } from '../services/webhook-endpoints'
import { DateTime, nullable } from './schema-helpers'

export const V1WebhookEndpoint = t.Object({
  id: t.String({ examples: ['we_3kTMd7r1Zq0bN5xYc8VwLp'] }),
  url: t.String({ format: 'uri' }),
  events: t.Array(t.String(), { description: `Event types, or ["*"] for all: ${EVENT_TYPES.join(', ')}` }),
  processor: t.Boolean({
    description:
      'Processes personal data for the platform: receives account.erasure_requested and must acknowledge it',
  }),
  format: t.Union([t.Literal('standard'), t.Literal('set')], {
    description:
      'standard: Standard Webhooks JSON; set: account.erased as a signed RISC account-purged Security Event Token (RFC 8417)',
  }),
  description: nullable(t.String()),
  status: t.Union([t.Literal('enabled'), t.Literal('disabled')]),
  disabled_reason: nullable(t.String()),
  created_at: DateTime,
  updated_at: DateTime,
})

export const V1WebhookEndpointWithSecret = t.Composite([
  V1WebhookEndpoint,
  t.Object({ secret: t.String({ description: 'whsec_… — shown once, when created or rotated' }) }),
])

export const projectEndpointForV1 = (e: EndpointRow) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  processor: e.processor,
  format: e.format,
  description: e.description,
  status: e.status,
  disabled_reason: e.disabledReason,
  created_at: toRfc3339(e.createdAt),
  updated_at: toRfc3339(e.updatedAt),
})

export const V1WebhookDelivery = t.Object({
  id: t.String(),
  event_id: t.String(),
  event_type: t.String(),
  endpoint_id: t.String(),
  status: t.Union([t.Literal('pending'), t.Literal('succeeded'), t.Literal('failed')]),
  attempts: t.Integer(),
  last_status_code: nullable(t.Integer()),
  last_error: nullable(t.String()),
  next_attempt_at: nullable(DateTime),
  created_at: DateTime,
  updated_at: DateTime,
})

export const projectDeliveryForV1 = (d: DeliveryRow) => ({
  id: d.id,
  event_id: d.eventId,
  event_type: d.eventType,
  endpoint_id: d.endpointId,
  status: d.status,
  attempts: d.attempts,
  last_status_code: d.lastStatusCode,
  last_error: d.lastError,
  next_attempt_at: d.status === 'pending' ? toRfc3339(d.nextAttemptAt) : null,
  created_at: toRfc3339(d.createdAt),
  updated_at: toRfc3339(d.updatedAt),
})

export const V1ErasureProcessor = t.Object({
  endpoint_id: t.String(),
  status: t.Union([
    t.Literal('pending'),
    t.Literal('delivered'),
    t.Literal('acknowledged'),
    t.Literal('failed'),
  ]),
  requested_at: DateTime,
  delivered_at: nullable(DateTime),
  acknowledged_at: nullable(DateTime),
})

export const projectProcessorForV1 = (p: ProcessorRow) => ({
  endpoint_id: p.endpointId,
  status: p.status,
  requested_at: toRfc3339(p.requestedAt),
  delivered_at: p.deliveredAt === null ? null : toRfc3339(p.deliveredAt),
  acknowledged_at: p.acknowledgedAt === null ? null : toRfc3339(p.acknowledgedAt),
})
