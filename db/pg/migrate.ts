import type { SQL } from 'bun'
import { drizzle } from 'drizzle-orm/bun-sql'
import { embeddedMigrations } from '../migrations.macro' with { type: 'macro' }
import { DatabaseNewerThanBinary } from '../sqlite/migrate'
import { whileMigrating } from './locks'

/** The PostgreSQL migrations (db/migrations-pg), embedded at build time like SQLite's. */
const migrations = embeddedMigrations('migrations-pg')

/**
 * Applies what is pending, in one transaction (drizzle's dialect migrator, as db/sqlite/migrate.ts does
 * for SQLite). Its bookkeeping table lives in the `drizzle` schema, not among ours. Instances
 * started together take turns (an advisory lock): the first applies, the others find it done.
 */
export async function migratePg(client: SQL): Promise<{ applied: string[] }> {
  return whileMigrating(client, async (connection) => {
    const before = await appliedCount(connection as unknown as SQL)
    if (before.count > migrations.length || before.newest > (migrations.at(-1)?.folderMillis ?? 0))
      throw new DatabaseNewerThanBinary(before.count, migrations.length)
    const orm = drizzle({ client: connection }) as unknown as {
      dialect: { migrate(m: unknown, session: unknown, config: unknown): Promise<void> }
      session: unknown
    }
    await orm.dialect.migrate(migrations, orm.session, { migrationsFolder: 'embedded' })
    const after = await appliedCount(connection as unknown as SQL)
    return { applied: migrations.slice(before.count, after.count).map((m) => m.tag) }
  })
}

async function appliedCount(client: SQL): Promise<{ count: number; newest: number }> {
  const [row] = await client`SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS present`
  if (!row?.present) return { count: 0, newest: 0 }
  const [{ n, newest }] =
    await client`SELECT count(*)::int AS n, coalesce(max(created_at), 0)::text AS newest FROM drizzle.__drizzle_migrations`
  return { count: Number(n), newest: Number(newest) }
}

/** Migrations embedded in this binary that the database has not applied yet. */
export async function pendingPgMigrations(client: SQL): Promise<number> {
  const [row] = await client`SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS present`
  if (!row?.present) return migrations.length
  const [{ n }] = await client`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`
  return migrations.length - Number(n)
}
