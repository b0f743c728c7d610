import type { SQL } from 'bun'
import { type Column, getTableColumns, getTableName } from 'drizzle-orm'
import type { SQLiteTable } from 'drizzle-orm/sqlite-core'
import type { OwnedTable } from '../ownership'
import type { Snapshot } from '../snapshot'
import type { Store } from '../store'
import * as pgSchema from './schema'

/** Rows fetched per round trip while an export streams. */
const BATCH = 500

/**
 * The export's snapshot on PostgreSQL: one `REPEATABLE READ READ ONLY` transaction on a
 * connection of its own for as long as the export streams (writers carry on beside it), each
 * table read through a server-side cursor `BATCH` rows at a time, so memory stays bounded however
 * large the account. Rows are decoded by the PostgreSQL renderings of the tables into the shapes
 * Drizzle gives on SQLite (the same property names; numbers, booleans, parsed JSON).
 */
export async function openPgSnapshot(store: Store, userId: string): Promise<Snapshot> {
  const pool = (store.orm as unknown as { $client: SQL }).$client
  const db = await pool.reserve()
  let open = true
  try {
    await db`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`
    const ids = async (sql: string) => ((await db.unsafe(sql, [userId])) as { id: string }[]).map((r) => r.id)
    const teamIds = await ids('SELECT id FROM teams WHERE owner_user_id = $1 ORDER BY created_at, id')
    const appIds = await ids('SELECT id FROM apps WHERE user_id = $1 ORDER BY created_at, id')
    let cursors = 0
    async function* rows<T>(table: OwnedTable): AsyncIterable<T> {
      const decode = decoderOf(table.name)
      const o = table.owner
      const owners = o.via === 'team' ? teamIds : o.via === 'app' ? appIds : [userId]
      const column = o.via === 'self' ? 'id' : o.column
      for (const owner of owners) {
        const cursor = `export_${++cursors}`
        await db.unsafe(
          `DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT * FROM ${table.name} WHERE ${column} = $1 ORDER BY ${table.orderBy}`,
          [owner],
        )
        try {
          for (;;) {
            const batch = (await db.unsafe(`FETCH ${BATCH} FROM ${cursor}`)) as Record<string, unknown>[]
            for (const raw of batch) yield decode(raw) as T
            if (batch.length < BATCH) break
          }
        } finally {
          await db.unsafe(`CLOSE ${cursor}`)
        }
      }
    }
    async function count(table: OwnedTable): Promise<number> {
      const o = table.owner
      const owners = o.via === 'team' ? teamIds : o.via === 'app' ? appIds : [userId]
      const column = o.via === 'self' ? 'id' : o.column
      let sum = 0
      for (const owner of owners) {
        const [row] = (await db.unsafe(
          `SELECT count(*)::bigint AS n FROM ${table.name} WHERE ${column} = $1`,
          [owner],
        )) as { n: number | string }[]
        sum += Number(row?.n ?? 0)
      }
      return sum
    }
    return {
      teamIds,
      appIds,
      rows,
      count,
      async row<T>(table: SQLiteTable, keyColumn: string, key: string) {
        const name = getTableName(table)
        const [raw] = (await db.unsafe(`SELECT * FROM ${name} WHERE ${keyColumn} = $1`, [key])) as Record<
          string,
          unknown
        >[]
        return raw ? (decoderOf(name)(raw) as T) : undefined
      },
      async close() {
        if (!open) return
        open = false
        try {
          await db`COMMIT`
        } finally {
          db.release()
        }
      },
    }
  } catch (error) {
    open = false
    db.release()
    throw error
  }
}

const decoders = new Map<string, (raw: Record<string, unknown>) => Record<string, unknown>>()

/** A raw PostgreSQL row → the object Drizzle returns, by the table's PostgreSQL rendering. */
function decoderOf(tableName: string) {
  let decode = decoders.get(tableName)
  if (!decode) {
    const table = Object.values(pgSchema).find(
      (t) => typeof t === 'object' && t !== null && 'getSQL' in t && getTableName(t as never) === tableName,
    )
    if (!table) throw new Error(`no PostgreSQL table ${tableName}`)
    const columns = Object.entries(getTableColumns(table as never)) as [string, Column][]
    decode = (raw) => {
      const row: Record<string, unknown> = {}
      for (const [property, column] of columns) {
        const value = raw[column.name]
        row[property] = value === null || value === undefined ? null : column.mapFromDriverValue(value)
      }
      return row
    }
    decoders.set(tableName, decode)
  }
  return decode
}
