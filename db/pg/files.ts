import { bigint, customType, pgTable, text } from 'drizzle-orm/pg-core'

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' })

/**
 * PostgreSQL only: the files every instance must read — rendered sites, icons, well-known files,
 * certificates, the ACME account key — and the two files SQLite keeps beside its database
 * (`system/pseudonym.key`, `system/erasure-ledger.jsonl`). A table rather than S3: one system to
 * back up, and a file goes in the same transaction as the rows that name it (README, architecture).
 */
export const storedFiles = pgTable('stored_files', {
  /** Relative to STORAGE_DIR, `/`-separated; `system/…` for the files beside the database. */
  path: text('path').primaryKey(),
  bytes: bytea('bytes').notNull(),
  /** SHA-256 (hex) of `bytes`. */
  sha256: text('sha256').notNull(),
  size: bigint('size', { mode: 'number' }).notNull(),
  modifiedAt: bigint('modified_at', { mode: 'number' }).notNull(),
})

/** Tables PostgreSQL has and SQLite does not (test/db/dialect-parity.test.ts leaves them out). */
export const PG_ONLY_TABLES = ['stored_files']
