import { type TSchema, t } from 'elysia'
import { EVENT_TYPES, type EventType } from '../services/events'
import { DateTime, nullable } from './schema-helpers'

const UserId = t.String({ description: 'The account: match it with the id you kept from account.created' })
const ErasureId = t.String({ description: 'The erasure (its receipt at GET /v1/admin/deletions)' })

/** Each event's `data`: ids and what changed, never an email or a name (docs/webhooks.md). */
const EVENT_DATA: Record<EventType, TSchema> = {
  'account.created': t.Object({
    user_id: UserId,
    team_id: t.String(),
    email_verified: t.Boolean(),
    is_operator: t.Boolean(),
  }),
  'account.updated': t.Object({
    user_id: UserId,
    changed: t.Array(t.String(), {
      description: 'Which fields changed (not their values)',
      examples: [['display_name']],
    }),
  }),
  'account.inactivity_warning': t.Object({
    user_id: UserId,
    last_active_at: DateTime,
    deletion_scheduled_at: t.String({
      format: 'date-time',
      description:
        'When the account is scheduled for deletion (then erased after the grace period) unless it is used before',
    }),
  }),
  'account.deletion_scheduled': t.Object({ user_id: UserId, erase_at: DateTime }),
  'account.deletion_canceled': t.Object({ user_id: UserId }),
  'account.erasure_requested': t.Object({
    user_id: UserId,
    erasure_id: ErasureId,
    mode: t.String({
      description: 'immediate, scheduled, operator, or restore_replay (a restored backup erased again)',
    }),
    acknowledge_url: t.Optional(
      t.String({
        format: 'uri',
        description:
          'Processors only: POST it (any or no body, no credential) once you have erased the account',
      }),
    ),
  }),
  'account.erased': t.Object({ user_id: UserId, erasure_id: ErasureId }),
  'account.erasure_overdue': t.Object({
    erasure_id: ErasureId,
    endpoint_id: t.String(),
    requested_at: DateTime,
  }),
  'api_key.created': t.Object({
    user_id: UserId,
    key_id: t.String(),
    kind: t.String(),
    replaces_key_id: t.Optional(
      t.String({ description: 'Set on a rotation: the key it replaces (valid 24 h more)' }),
    ),
  }),
  'api_key.revoked': t.Object({ user_id: UserId, key_id: t.String(), kind: t.String() }),
  'subscription.created': SubscriptionData(),
  'subscription.updated': SubscriptionData(),
  'subscription.canceled': SubscriptionData(),
  'app.deployed': t.Object({ user_id: UserId, app_id: t.String(), deploy_id: t.String() }),
  'sandbox.quota_exceeded': t.Object({
    user_id: UserId,
    team_id: t.String(),
    quota: t.String({ examples: ['daily_creates', 'concurrent_sandboxes', 'daily_gb_hours'] }),
    limit: t.Number(),
    used: t.Number(),
    usage_date: t.String({ examples: ['2026-12-06'] }),
  }),
  'request.overdue': t.Object({
    request_id: t.String({ description: 'The data-subject request (GET /v1/admin/requests/{id})' }),
    type: t.String({ description: 'access, portability, erasure, rectification, restriction or objection' }),
    due_at: DateTime,
    user_id: t.Optional(UserId),
  }),
  'export.ready': t.Object({
    user_id: UserId,
    export_id: t.String(),
    format: t.String({ description: 'json or csv' }),
    expires_at: DateTime,
  }),
  'webhook_endpoint.disabled': t.Object({ endpoint_id: t.String(), reason: t.String() }),
  'operator.action': t.Object({
    action: t.String({
      description:
        'What an operator did in the console: export_requested, deletion_scheduled, deletion_canceled, erased, legal_hold_placed, legal_hold_released, quota_tier_set, key_revoked, request_transitioned, delivery_retried or secret_rotated',
    }),
    operator: t.String({
      description: "The operator's pseudonym (the same in audit records), not their account id",
    }),
    target_type: t.Optional(t.String({ examples: ['key', 'request', 'delivery', 'endpoint', 'tier'] })),
    target_id: t.Optional(t.String()),
    user_id: t.Optional(UserId),
  }),
}

function SubscriptionData() {
  return t.Object({
    user_id: UserId,
    subscription_id: t.String(),
    status: t.String(),
    plan: nullable(t.String()),
    quantity: t.Number(),
    cancel_at_period_end: t.Boolean(),
  })
}

/**
 * The OpenAPI 3.1 `webhooks` section: what Custodian POSTs to an endpoint for each event type
 * (Standard Webhooks headers, the envelope, the event's data).
 */
export function webhooksDocument(): Record<string, never> {
  const header = (description: string) => ({ required: true, schema: { type: 'string' }, description })
  // OpenAPI's types want its own PathItemObject; these are plain JSON of that shape.
  return Object.fromEntries(
    EVENT_TYPES.map((type) => [
      type,
      {
        post: {
          operationId: `webhook_${type.replace('.', '_')}`,
          summary: type,
          // The receiver checks webhook-signature (Standard Webhooks), not a bearer credential.
          security: [],
          tags: ['/v1 webhooks'],
          parameters: [
            {
              in: 'header',
              name: 'webhook-id',
              ...header('The event id; the same on every retry (deduplicate on it)'),
            },
            {
              in: 'header',
              name: 'webhook-timestamp',
              ...header('Unix seconds when this attempt was signed'),
            },
            {
              in: 'header',
              name: 'webhook-signature',
              ...header(
                '`v1,` + base64 HMAC-SHA-256 of `id.timestamp.body` under the secret; two, space-separated, for 24 h after a rotation',
              ),
            },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: t.Object({
                  id: t.String({ examples: ['evt_019bc186de0071078c8e3f2a9d4b5e61'] }),
                  type: t.Literal(type),
                  created_at: DateTime,
                  data: EVENT_DATA[type],
                }),
              },
            },
          },
          responses: {
            '200': {
              description: 'Any 2xx: received. Anything else, a timeout (10 s) or a redirect: retried.',
            },
            '400': {
              description: 'Any other answer: the delivery is retried on the schedule, then marked failed.',
            },
          },
        },
      },
    ]),
  ) as Record<string, never>
}
