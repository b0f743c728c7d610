import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

export type WebhookEndpointStatus = 'enabled' | 'disabled'
/** `standard`: Standard Webhooks JSON; `set`: account.erased as a signed RISC account-purged Security Event Token. */
export type WebhookFormat = 'standard' | 'set'
export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed'
export type ProcessorStatus = 'pending' | 'delivered' | 'acknowledged' | 'failed'

/** Where events go (operator configuration; no personal data). Secrets are sealed at rest. */
export const webhookEndpoints = sqliteTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    url: text('url').notNull(),
    events: text('events', { mode: 'json' }).$type<string[]>().notNull(),
    processor: integer('processor', { mode: 'boolean' }).notNull().default(false),
    format: text('format').$type<WebhookFormat>().notNull().default('standard'),
    description: text('description'),
    status: text('status').$type<WebhookEndpointStatus>().notNull(),
    disabledReason: text('disabled_reason'),
    secret: text('secret').notNull(),
    /** The secret before the last rotation, still signing beside the new one until previousSecretUntil. */
    previousSecret: text('previous_secret'),
    previousSecretUntil: integer('previous_secret_until'),
    /** When its deliveries started failing (cleared by a success); 3 days of it disables the endpoint. */
    failingSince: integer('failing_since'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('webhook_endpoints_created_idx').on(t.createdAt, t.id)],
)

/**
 * The outbox: one row per event, written in the transaction of the change it announces, and only
 * when an endpoint wants it. `data` carries ids, never an email or a name; the account's keyed
 * pseudonym orders an account's events. The delivery worker fans each event out to the endpoints'
 * deliveries in batches (`fanned_out`): a write pays for one small row, not one per endpoint.
 */
export const webhookEvents = sqliteTable(
  'webhook_events',
  {
    id: text('id').primaryKey(),
    type: text('type').notNull(),
    accountHash: text('account_hash'),
    data: text('data', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
    fannedOut: integer('fanned_out', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('webhook_events_fan_out_idx').on(t.fannedOut, t.id)],
)

/** One event to one endpoint: its attempts, and the lease of the instance sending it. */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    endpointId: text('endpoint_id').notNull(),
    /** The account's pseudonym (or the event id): deliveries with the same key go out in order. */
    orderingKey: text('ordering_key').notNull(),
    status: text('status').$type<WebhookDeliveryStatus>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    lockedUntil: integer('locked_until'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.id),
    index('webhook_deliveries_order_idx').on(t.endpointId, t.orderingKey, t.status, t.eventId),
    index('webhook_deliveries_event_idx').on(t.eventId),
  ],
)

/**
 * Which processors were asked to erase an account, and what they answered. PII-free: the
 * deletion's id, the endpoint's id and the hash of the acknowledgement token.
 */
export const erasureProcessors = sqliteTable(
  'erasure_processors',
  {
    deletionId: text('deletion_id').notNull(),
    endpointId: text('endpoint_id').notNull(),
    tokenHash: text('token_hash').notNull().unique('erasure_processors_token_unique'),
    status: text('status').$type<ProcessorStatus>().notNull(),
    requestedAt: integer('requested_at').notNull(),
    deliveredAt: integer('delivered_at'),
    acknowledgedAt: integer('acknowledged_at'),
    overdueNotifiedAt: integer('overdue_notified_at'),
  },
  (t) => [
    primaryKey({ columns: [t.deletionId, t.endpointId] }),
    index('erasure_processors_status_idx').on(t.status, t.requestedAt),
  ],
)
