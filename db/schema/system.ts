import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

export type IdempotencyState = 'in_progress' | 'done'

/**
 * Owned by the principal's user (erased with the account: stored bodies can hold personal data),
 * but never exported: replaying bodies is internal state, not the user's data.
 */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    /** The authenticated principal's user id. */
    principal: text('principal').notNull(),
    key: text('key').notNull(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    fingerprint: text('fingerprint').notNull(),
    state: text('state').$type<IdempotencyState>().notNull(),
    status: integer('status'),
    body: text('body'),
    contentType: text('content_type'),
    location: text('location'),
    createdAt: integer('created_at').notNull(),
    lockedAt: integer('locked_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.principal, t.key] }), index('idempotency_expires_idx').on(t.expiresAt)],
)

/**
 * `incomplete`: the verification pass found something left (retried); `blocked_legal_hold`: refused
 * while the account is held, resumed when the hold is released.
 */
export type DeletionStep =
  | 'requested'
  | 'billing_stopped'
  | 'data_erased'
  | 'incomplete'
  | 'blocked_legal_hold'
  | 'done'
export type DeletionMode = 'immediate' | 'scheduled' | 'operator'

export interface ErasureVerification {
  checkedAt: number
  /** Rows found per owned table by any of the account's identifiers (all 0 when clean). */
  tables: Record<string, number>
  identifiers: number
  /** How the identifiers were known: gathered before the erasure, or only the user id (resumed). */
  identifierSource: 'gathered' | 'user_id_only'
  /** SQLite: pages of the database file and the WAL read for the account's strings. */
  pagesScanned: number
  bytesScanned: number
  byteMatches: number
  storagePathsChecked: number
  storageMatches: number
  clean: boolean
}

/**
 * Deletion job and receipt. Outlives the user on purpose and is PII-free: the user id is kept
 * only while the job runs (the worker needs it to resume) and is cleared at `done`.
 */
export const accountDeletions = sqliteTable(
  'account_deletions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id'),
    userHash: text('user_hash').notNull(),
    mode: text('mode').$type<DeletionMode>().notNull(),
    step: text('step').$type<DeletionStep>().notNull(),
    counts: text('counts', { mode: 'json' }).$type<Record<string, number>>(),
    stripeActions: text('stripe_actions', { mode: 'json' }).$type<string[]>(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: integer('next_attempt_at'),
    /** Lease: whoever runs the job holds it until then (a crashed holder's lease simply expires). */
    lockedUntil: integer('locked_until'),
    /**
     * SHA-256 of (credential digest, Idempotency-Key) of the request that started an immediate
     * deletion, so a retry of that request after the account is gone still replays its 204.
     */
    replayHash: text('replay_hash'),
    lastError: text('last_error'),
    /** What the independent verification pass found (services/erasure-verification.ts). */
    verification: text('verification', { mode: 'json' }).$type<ErasureVerification>(),
    requestedAt: integer('requested_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    completedAt: integer('completed_at'),
  },
  (t) => [
    index('account_deletions_step_idx').on(t.step, t.nextAttemptAt),
    index('account_deletions_user_idx').on(t.userId),
    index('account_deletions_user_hash_idx').on(t.userHash, t.requestedAt),
    index('account_deletions_replay_idx').on(t.replayHash),
    // Receipts newest first (the console, GET /v1/admin/deletions): a page reads a page.
    index('account_deletions_requested_idx').on(t.requestedAt, t.id),
  ],
)

/** PII-free account-level events: a hashed user id, never email or IP. */
export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    userHash: text('user_hash').notNull(),
    action: text('action').notNull(),
    at: integer('at').notNull(),
    details: text('details', { mode: 'json' }).$type<Record<string, unknown>>(),
  },
  (t) => [index('audit_events_user_idx').on(t.userHash, t.at)],
)

/**
 * Change counters SQLite's own triggers raise (migration 0006), one row per topic: 1 =
 * credentials (a key revoked, expired, suspended or deleted; a user soft-deleted, restored, marked
 * for erasure, verified or removed; a team's owner), 2 = account status (apps added or removed,
 * subscriptions, the payment method), 3 = hosting (a site published, its domain or indexing, an
 * app's slug or removal). Caches of either are only trusted while their counter
 * stands still: see db/change-epochs.ts. Holds no personal data.
 */
export const changeEpochs = sqliteTable('change_epochs', {
  id: integer('id').primaryKey(),
  value: integer('value').notNull(),
})
