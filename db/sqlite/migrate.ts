import { embeddedMigrations } from '../migrations.macro' with { type: 'macro' }
import type { SqliteStore as Store } from './store'

/** The one place that knows where migrations come from: embedded at build time by a Bun macro. */
const migrations = embeddedMigrations()

export const MIGRATIONS_TABLE = '__drizzle_migrations'

/**
 * A database that has applied migrations this binary does not know (an older binary started on a
 * database a newer one migrated): serving it would read and write a schema it was not built for.
 */
export class DatabaseNewerThanBinary extends Error {
  override name = 'DatabaseNewerThanBinary'
  constructor(applied: number, known: number) {
    super(
      `the database was migrated by a newer Custodian (${applied} migrations applied; this binary knows ${known}): run that version or a newer one`,
    )
  }
}

/** Applies what is pending; answers the tags of the migrations it applied, in order. */
export function migrate(store: Store): { applied: string[] } {
  const before = countApplied(store)
  refuseNewer(store, before)
  // drizzle's dialect migrator: creates its table, applies what is newer, all in one transaction.
  const orm = store.orm as unknown as { dialect: any; session: any }
  orm.dialect.migrate(migrations, orm.session, { migrationsFolder: 'embedded' })
  const applied = migrations.slice(before, countApplied(store)).map((m) => m.tag)
  store.appliedMigrations.push(...applied)
  return { applied }
}

function refuseNewer(store: Store, applied: number) {
  if (applied === 0) return
  const newest = store.sqlite.query(`SELECT max(created_at) AS at FROM ${MIGRATIONS_TABLE}`).get() as {
    at: number | string | null
  }
  const known = migrations.at(-1)?.folderMillis ?? 0
  if (applied > migrations.length || Number(newest.at ?? 0) > known)
    throw new DatabaseNewerThanBinary(applied, migrations.length)
}

export function pendingMigrations(store: Store): number {
  return migrations.length - countApplied(store)
}

function countApplied(store: Store): number {
  const exists = store.sqlite
    .query(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '${MIGRATIONS_TABLE}'`)
    .get()
  if (!exists) return 0
  const row = store.sqlite.query(`SELECT count(*) AS n FROM ${MIGRATIONS_TABLE}`).get() as { n: number }
  return row.n
}
