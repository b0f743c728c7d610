import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { users } from './accounts'

/**
 * A legal hold: while it stands, no deletion path erases the account (services/legal-holds.ts is
 * the one check they all pass). One row per account. The reason is the
 * operator's text — the account's export shows it unless the hold is confidential. Erased with
 * the account once released (a held account is never erased).
 */
export const legalHolds = sqliteTable('legal_holds', {
  userId: text('user_id')
    .primaryKey()
    .references(() => users.id),
  reason: text('reason').notNull(),
  confidential: integer('confidential', { mode: 'boolean' }).notNull().default(false),
  /** When the hold lapses by itself (epoch ms); null: until released. */
  until: integer('until'),
  placedAt: integer('placed_at').notNull(),
  /** When it was released; the row stays so that the newest of database and ledger wins after a restore. */
  releasedAt: integer('released_at'),
  updatedAt: integer('updated_at').notNull(),
})

/**
 * Signed erasure certificates, one per completed erasure, in a hash chain: `seq` orders them and
 * each document names the previous one's hash. PII-free (the pseudonym, ids, counts, Stripe steps).
 * `document` holds the exact bytes that were signed and served.
 */
export const erasureCertificates = sqliteTable(
  'erasure_certificates',
  {
    seq: integer('seq').primaryKey(),
    erasureId: text('erasure_id').notNull().unique(),
    userHash: text('user_hash').notNull(),
    hash: text('hash').notNull(),
    document: text('document').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('erasure_certificates_user_hash_idx').on(t.userHash, t.seq)],
)

/** Public keys certificates were ever signed with (JWK), kept after a rotation so old ones still verify. */
export const certificateKeys = sqliteTable('certificate_keys', {
  kid: text('kid').primaryKey(),
  jwk: text('jwk', { mode: 'json' }).$type<Record<string, string>>().notNull(),
  createdAt: integer('created_at').notNull(),
})

export type RequestType = 'access' | 'portability' | 'erasure' | 'rectification' | 'restriction' | 'objection'
export type RequestStatus =
  | 'received'
  | 'identity_pending'
  | 'in_progress'
  | 'extended'
  | 'fulfilled'
  | 'refused'
  | 'withdrawn'

/**
 * Data-subject requests (GDPR Art. 15–21) as cases with the legal clock (services/data-requests.ts).
 * Outlives the account on purpose: once it is erased a request keeps its pseudonym, type, dates and
 * outcome only (user id, email, notes and reasons are cleared). An email-only request (no account)
 * keeps the email until the case is closed plus REQUEST_RETENTION_DAYS.
 */
export const dataRequests = sqliteTable(
  'data_requests',
  {
    id: text('id').primaryKey(),
    type: text('type').$type<RequestType>().notNull(),
    status: text('status').$type<RequestStatus>().notNull(),
    userId: text('user_id'),
    userHash: text('user_hash'),
    email: text('email'),
    channel: text('channel'),
    note: text('note'),
    receivedAt: integer('received_at').notNull(),
    /** The deadline: received + 1 (+ extension) calendar months, end of day UTC, plus paused days. */
    dueAt: integer('due_at').notNull(),
    /** Whole days the clock stood still while identity was being verified. */
    pausedDays: integer('paused_days').notNull().default(0),
    pausedSince: integer('paused_since'),
    startedAt: integer('started_at'),
    extendedMonths: integer('extended_months').notNull().default(0),
    extensionReason: text('extension_reason'),
    closedAt: integer('closed_at'),
    /** Why it was refused or withdrawn (refusals must say). */
    outcomeReason: text('outcome_reason'),
    exportId: text('export_id'),
    erasureId: text('erasure_id'),
    overdueAnnouncedAt: integer('overdue_announced_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    index('data_requests_due_idx').on(t.closedAt, t.dueAt, t.id),
    // The whole case log by deadline (the console, GET /v1/admin/requests without filters).
    index('data_requests_deadline_idx').on(t.dueAt, t.id),
    index('data_requests_user_idx').on(t.userId),
    index('data_requests_user_hash_idx').on(t.userHash),
  ],
)

export type ArchiveFormat = 'json' | 'csv'
export type ArchiveStatus = 'queued' | 'building' | 'ready' | 'failed'

/**
 * Export archives built in the background (services/export-archives.ts): the file itself lives in
 * storage under `exports/<id>/` in parts, so a large one is never held in memory. Erased with the
 * account, files included; removed when its link expires.
 */
export const exportArchives = sqliteTable(
  'export_archives',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    format: text('format').$type<ArchiveFormat>().notNull(),
    status: text('status').$type<ArchiveStatus>().notNull(),
    /** `user` (the account holder asked) or `operator`. */
    requestedBy: text('requested_by').notNull(),
    rowsDone: integer('rows_done').notNull().default(0),
    rowsTotal: integer('rows_total'),
    size: integer('size'),
    sha256: text('sha256'),
    parts: integer('parts'),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    /** Lease of the instance building it (a crashed builder's lease expires and another restarts it). */
    lockedUntil: integer('locked_until'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    readyAt: integer('ready_at'),
    expiresAt: integer('expires_at'),
  },
  (t) => [
    index('export_archives_status_idx').on(t.status, t.createdAt),
    index('export_archives_user_idx').on(t.userId, t.createdAt),
    index('export_archives_expires_idx').on(t.expiresAt),
  ],
)
