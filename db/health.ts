import type { SQL } from 'bun'
import { type Store, writeProblem } from './client'
import { pendingMigrations } from './migrate'

export interface StoreHealth {
  pendingMigrations: number
  /** Why the database cannot be written (a read-only file; a PostgreSQL standby), else null. */
  writeProblem: string | null
}

/** What /readyz asks of the store: it answers, it is migrated, it can be written. Throws when unreachable. */
export async function storeHealth(store: Store): Promise<StoreHealth> {
  if (store.dialect === 'sqlite') {
    store.sqlite.query('SELECT 1').get()
    return { pendingMigrations: pendingMigrations(store), writeProblem: writeProblem(store) }
  }
  await (store as Store & { ready?: Promise<void> }).ready
  const client = (store.orm as unknown as { $client: SQL }).$client
  const { pendingPgMigrations } = await import('./pg/migrate')
  const [{ transaction_read_only: readOnly }] = await client`SHOW transaction_read_only`
  return {
    pendingMigrations: await pendingPgMigrations(client),
    writeProblem:
      readOnly === 'on'
        ? 'the server accepts only reads (a standby, or default_transaction_read_only)'
        : null,
  }
}
