import type { Store } from './client'
import { ERASURE_TOUCHED_TABLES } from './ownership'

/**
 * Rewrites the tables an erasure touches so that no freed bytes of erased accounts remain in the
 * database's files (`custodian compact`). On PostgreSQL a VACUUM frees dead rows but does not
 * overwrite them, so an erased email can still be read from the table and index files until new
 * rows land on that space; `VACUUM FULL` rewrites each table and its indexes into new files (the
 * old ones are unlinked), at the cost of an exclusive lock on the table while it is rewritten.
 * SQLite zeroes freed pages as it frees them (secure_delete): there `VACUUM` only gives space back.
 */
export async function compactStore(
  store: Store,
  onTable: (table: string, done: number, total: number) => void = () => {},
): Promise<{ tables: string[] }> {
  if (store.dialect === 'sqlite') {
    onTable('the database file', 0, 1)
    store.sqlite.exec('VACUUM')
    return { tables: ['(whole database)'] }
  }
  const { compactTables } = await import('./pg/store')
  await compactTables(store, ERASURE_TOUCHED_TABLES, onTable)
  return { tables: [...ERASURE_TOUCHED_TABLES] }
}
