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
