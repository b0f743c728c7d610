import type { SQLiteTable } from 'drizzle-orm/sqlite-core'
import type { OwnedTable } from './ownership'

/**
 * A consistent read view of the whole database, on a connection of its own, for as long as an
 * export streams (`store.snapshot(userId)`): db/sqlite/snapshot.ts, db/pg/snapshot.ts.
 */
export interface Snapshot {
  /** Ids of the user's teams and apps, as of the snapshot. */
  readonly teamIds: string[]
  readonly appIds: string[]
  /**
   * The user's rows of an owned table, decoded like Drizzle rows, streamed in index order (read
   * at once on SQLite; fetched in batches through a cursor on PostgreSQL).
   */
  rows<T = Record<string, unknown>>(table: OwnedTable): Iterable<T> | AsyncIterable<T>
  /** How many rows of an owned table are the user's, as of the snapshot (an archive's progress). */
  count(table: OwnedTable): number | Promise<number>
  /** One row of any table by primary key (system tables such as quota_tiers). */
  row<T = Record<string, unknown>>(
    table: SQLiteTable,
    keyColumn: string,
    key: string,
  ): T | undefined | Promise<T | undefined>
  close(): void | Promise<void>
}
