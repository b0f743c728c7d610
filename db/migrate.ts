import type { Store } from './client'
import { embeddedMigrations } from './migrations.macro' with { type: 'macro' }

/** The one place that knows where migrations come from: embedded at build time by a Bun macro. */
const migrations = embeddedMigrations()

export const MIGRATIONS_TABLE = '__drizzle_migrations'

export function migrate(store: Store): { applied: number } {
  const before = countApplied(store)
  // drizzle's dialect migrator: creates its table, applies what is newer, all in one transaction.
  const orm = store.orm as unknown as { dialect: any; session: any }
  orm.dialect.migrate(migrations, orm.session, { migrationsFolder: 'embedded' })
  return { applied: countApplied(store) - before }
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
