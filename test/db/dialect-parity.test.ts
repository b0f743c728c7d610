import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { PG_ONLY_TABLES } from '../../db/pg/files'
import { migratePg } from '../../db/pg/migrate'
import { migrate } from '../../db/sqlite/migrate'
import { openStore, type SqliteStore } from '../../db/sqlite/store'
import type { Store } from '../../db/store'
import { hasPostgres, type PostgresCluster, startPostgres } from '../support/postgres'

// The PostgreSQL schema is rendered from the SQLite one (db/pg/schema.ts) and migrated by its own
// drizzle-kit output (db/migrations-pg). This test migrates both engines from scratch and compares
// what they hold through their catalogues — tables, columns, keys, indexes, foreign keys, triggers
// and seeded rows — so neither migration chain can drift from the other unnoticed.

/** SQLite's declared type → the PostgreSQL types db/pg/schema.ts may render it as. */
const RENDERINGS: Record<string, string[]> = {
  text: ['text', 'json'],
  integer: ['bigint', 'boolean'],
  real: ['double precision'],
}

const INTERNAL_TABLES = new Set(['__drizzle_migrations', 'sqlite_sequence'])

describe.skipIf(!hasPostgres())('the PostgreSQL schema against the SQLite one', () => {
  let pg: PostgresCluster
  let lite: SqliteStore
  beforeAll(async () => {
    pg = await startPostgres()
    await migratePg(pg.sql)
    lite = openStore(':memory:')
    migrate(lite)
  })
  afterAll(() => {
    lite?.close()
    pg?.stop()
  })

  const sqliteTables = () =>
    (
      lite.sqlite.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
        name: string
      }[]
    )
      .map((r) => r.name)
      .filter((n) => !INTERNAL_TABLES.has(n))

  it('has the same tables', async () => {
    const pgTables = (
      await pg.sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`
    )
      .map((r: { table_name: string }) => r.table_name)
      .filter((name: string) => !PG_ONLY_TABLES.includes(name))
    expect(pgTables).toEqual(sqliteTables())
  })

  it('has the same columns, nullability and a rendering of each type', async () => {
    for (const table of sqliteTables()) {
      const liteColumns = lite.sqlite.query(`PRAGMA table_info(${table})`).all() as {
        name: string
        type: string
        notnull: number
        pk: number
      }[]
      const pgColumns = (await pg.sql`
        SELECT column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = ${table} ORDER BY ordinal_position`) as {
        column_name: string
        data_type: string
        is_nullable: string
      }[]
      expect(pgColumns.map((c) => c.column_name).sort()).toEqual(liteColumns.map((c) => c.name).sort())
      for (const column of liteColumns) {
        const other = pgColumns.find((c) => c.column_name === column.name)
        expect({
          table,
          column: column.name,
          type: RENDERINGS[column.type.toLowerCase()]?.includes(other?.data_type ?? ''),
        }).toEqual({
          table,
          column: column.name,
          type: true,
        })
        // A primary-key column is NOT NULL in PostgreSQL whatever SQLite declared.
        expect({ table, column: column.name, nullable: other?.is_nullable === 'YES' }).toEqual({
          table,
          column: column.name,
          nullable: column.notnull === 0 && column.pk === 0,
        })
      }
    }
  })

  it('has the same primary keys, unique column sets and named indexes, partial where SQLite’s are', async () => {
    for (const table of sqliteTables()) {
      const liteIndexes = (
        lite.sqlite.query(`PRAGMA index_list(${table})`).all() as {
          name: string
          unique: number
          origin: string
          partial: number
        }[]
      ).map((ix) => ({
        name: ix.origin === 'c' && !ix.name.endsWith('_unique') ? ix.name : null,
        unique: ix.unique === 1,
        partial: ix.partial === 1,
        columns: (lite.sqlite.query(`PRAGMA index_info('${ix.name}')`).all() as { name: string }[]).map(
          (c) => c.name,
        ),
      }))
      // A rowid table's INTEGER PRIMARY KEY has no index in SQLite; PostgreSQL's is unique.
      const rowidKey = (
        lite.sqlite.query(`PRAGMA table_info(${table})`).all() as { name: string; type: string; pk: number }[]
      )
        .filter((c) => c.pk > 0 && c.type.toLowerCase() === 'integer')
        .map((c) => ({ name: null, unique: true, partial: false, columns: [c.name] }))
      const pgIndexes = (
        (await pg.sql`
          SELECT i.relname AS name, x.indisunique AS unique, x.indisprimary AS primary,
                 x.indpred IS NOT NULL AS partial, array_agg(a.attname ORDER BY k.ord) AS columns
          FROM pg_index x
          JOIN pg_class i ON i.oid = x.indexrelid
          JOIN pg_class t ON t.oid = x.indrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
          CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
          WHERE n.nspname = 'public' AND t.relname = ${table}
          GROUP BY i.relname, x.indisunique, x.indisprimary, x.indpred IS NOT NULL`) as {
          name: string
          unique: boolean
          primary: boolean
          partial: boolean
          columns: string[]
        }[]
      ).map((ix) => ({
        // Constraint-backed indexes are named by each engine its own way; named ones must match.
        name: ix.primary || ix.name.endsWith('_unique') ? null : ix.name,
        unique: ix.unique,
        partial: ix.partial,
        columns: [...ix.columns],
      }))
      const key = (ix: { name: string | null; unique: boolean; partial: boolean; columns: string[] }) =>
        `${ix.name ?? '-'} ${ix.unique ? 'unique' : 'plain'}${ix.partial ? ' partial' : ''} (${ix.columns.join(',')})`
      expect({ table, indexes: pgIndexes.map(key).sort() }).toEqual({
        table,
        indexes: [...liteIndexes, ...rowidKey].map(key).sort(),
      })
    }
  })

  it('has the same foreign keys', async () => {
    for (const table of sqliteTables()) {
      const liteKeys = (
        lite.sqlite.query(`PRAGMA foreign_key_list(${table})`).all() as {
          table: string
          from: string
          to: string
        }[]
      )
        .map((k) => `${k.from} -> ${k.table}.${k.to}`)
        .sort()
      const pgKeys = (
        (await pg.sql`
          SELECT a.attname AS "from", ft.relname AS "table", fa.attname AS "to"
          FROM pg_constraint c
          JOIN pg_class t ON t.oid = c.conrelid
          JOIN pg_class ft ON ft.oid = c.confrelid
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
          JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = ANY (c.confkey)
          WHERE c.contype = 'f' AND t.relname = ${table}`) as { from: string; table: string; to: string }[]
      )
        .map((k) => `${k.from} -> ${k.table}.${k.to}`)
        .sort()
      expect({ table, keys: pgKeys }).toEqual({ table, keys: liteKeys })
    }
  })

  it('has the change-epoch triggers under the same names, on the same tables', async () => {
    const liteTriggers = (
      lite.sqlite.query("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'").all() as {
        name: string
        tbl_name: string
      }[]
    )
      .map((t) => `${t.tbl_name}.${t.name}`)
      .sort()
    const pgTriggers = (
      (await pg.sql`
        SELECT DISTINCT event_object_table AS "table", trigger_name AS name
        FROM information_schema.triggers WHERE trigger_schema = 'public'`) as {
        table: string
        name: string
      }[]
    )
      .map((t) => `${t.table}.${t.name}`)
      .sort()
    expect(liteTriggers.length).toBeGreaterThan(0)
    expect(pgTriggers).toEqual(liteTriggers)
  })

  it('seeds the same system rows', async () => {
    const tiers =
      'SELECT id, display_name, max_concurrent_sandboxes, daily_sandbox_creates, daily_gb_hours FROM quota_tiers ORDER BY id'
    const normalise = (rows: Record<string, unknown>[]) =>
      rows.map((r) =>
        Object.fromEntries(
          Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v]),
        ),
      )
    expect(normalise(await pg.sql.unsafe(tiers))).toEqual(
      normalise(lite.sqlite.query(tiers).all() as Record<string, unknown>[]),
    )
    const epochs = 'SELECT id, value FROM change_epochs ORDER BY id'
    expect(normalise(await pg.sql.unsafe(epochs))).toEqual(
      normalise(lite.sqlite.query(epochs).all() as Record<string, unknown>[]),
    )
  })

  it('raises a change epoch from a trigger, as SQLite does', async () => {
    // A topic's counter is the sum of its shards (db/pg/change-epochs.ts).
    const credentials = 'SELECT sum(value) AS value FROM change_epochs WHERE id % 10 = 1'
    const before = Number((await pg.sql.unsafe(credentials))[0].value)
    await pg.sql`INSERT INTO users (id, email, created_at, updated_at) VALUES ('u1', 'a@example.com', 1, 1)`
    await pg.sql`UPDATE users SET soft_deleted_at = 2 WHERE id = 'u1'`
    const after = Number((await pg.sql.unsafe(credentials))[0].value)
    expect(after).toBeGreaterThan(before)
  })
})
