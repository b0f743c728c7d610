import { bigint, customType, pgTable, text } from 'drizzle-orm/pg-core'

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' })

/**
 * PostgreSQL only: the files every instance must read — rendered sites, icons, well-known files,
 * certificates, the ACME account key — and the two files SQLite keeps beside its database
 * (`system/pseudonym.key`, `system/erasure-ledger.jsonl`). A table rather than S3: one system to
 * back up, and a file goes in the same transaction as the rows that name it (docs/architecture.md).
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

type Pool = <T = Record<string, unknown>[]>(strings: TemplateStringsArray, ...values: unknown[]) => Promise<T>

/**
 * The shared file backend (src/lib/storage.ts) on `stored_files`: every instance reads what any
 * wrote. A write is one upsert (readers see the old row or the new one); removing a directory
 * deletes every row under its prefix. There are no directories, so none is left empty.
 * The `mode` of a local file (0600 for private keys) has no meaning here: the rows are as
 * private as the rest of the database.
 */
export function storedFilesBackend(poolWhenReady: () => Promise<Pool>) {
  return {
    shared: true as const,
    async write(path: string, data: Uint8Array | string) {
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
      const sha256 = new Bun.CryptoHasher('sha256').update(bytes).digest('hex')
      const sql = await poolWhenReady()
      await sql`INSERT INTO stored_files (path, bytes, sha256, size, modified_at)
        VALUES (${path}, ${bytes}, ${sha256}, ${bytes.length}, ${Date.now()})
        ON CONFLICT (path) DO UPDATE SET bytes = excluded.bytes, sha256 = excluded.sha256,
          size = excluded.size, modified_at = excluded.modified_at`
    },
    async read(path: string) {
      const sql = await poolWhenReady()
      const [row] = await sql<{ bytes: Uint8Array }[]>`SELECT bytes FROM stored_files WHERE path = ${path}`
      return row ? new Uint8Array(row.bytes) : null
    },
    async body(path: string) {
      const bytes = await this.read(path)
      return bytes ? new Blob([bytes]) : null
    },
    async remove(path: string) {
      const sql = await poolWhenReady()
      await sql`DELETE FROM stored_files WHERE path = ${path} OR starts_with(path, ${`${path}/`})`
    },
    async list(path: string) {
      const prefix = `${path}/`
      const sql = await poolWhenReady()
      const rows = await sql<{ name: string }[]>`
        SELECT DISTINCT split_part(substr(path, ${prefix.length + 1}), '/', 1) AS name
        FROM stored_files WHERE starts_with(path, ${prefix}) ORDER BY name`
      return rows.map((r) => r.name)
    },
    async removeEmptyDirectories() {},
  }
}
