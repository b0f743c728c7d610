import { Database } from 'bun:sqlite'
import { type Column, getTableColumns, getTableName } from 'drizzle-orm'
import type { SQLiteTable } from 'drizzle-orm/sqlite-core'
import type { OwnedTable } from '../ownership'
import type { Snapshot } from '../snapshot'
import { isMemoryPath } from '../store'
import { withStablePlan } from './stable-plans'
import type { SqliteStore } from './store'

/**
 * On a file database the snapshot is a read transaction on a connection of its own (WAL lets
 * writers carry on beside it); an in-memory database cannot be opened twice, so it is a private
 * copy instead.
 */
export function openSqliteSnapshot(store: SqliteStore, userId: string): Snapshot {
  const db = isMemoryPath(store.path)
    ? Database.deserialize(store.sqlite.serialize())
    : new Database(store.path, { readonly: true, strict: true })
  db.exec('PRAGMA busy_timeout = 5000')
  if (!isMemoryPath(store.path)) {
    // The snapshot starts at the first read inside the transaction: take it now, synchronously,
    // so the export shows the account as it was when the request arrived.
    db.exec('BEGIN')
  }
  const teamIds = (
    db
      .query(withStablePlan('SELECT id FROM teams WHERE owner_user_id = ? ORDER BY created_at, id'))
      .all(userId) as {
      id: string
    }[]
  ).map((r) => r.id)
  const appIds = (
    db.query(withStablePlan('SELECT id FROM apps WHERE user_id = ? ORDER BY created_at, id')).all(userId) as {
      id: string
    }[]
  ).map((r) => r.id)
  const decoders = new WeakMap<SQLiteTable, (raw: Record<string, unknown>) => Record<string, unknown>>()
  const decoderOf = (table: SQLiteTable) => {
    let decode = decoders.get(table)
    if (!decode) {
      decode = rowDecoder(table)
      decoders.set(table, decode)
    }
    return decode
  }

  function* rows<T>(table: OwnedTable): IterableIterator<T> {
    const decode = decoderOf(table.table)
    const o = table.owner
    const owners = o.via === 'team' ? teamIds : o.via === 'app' ? appIds : [userId]
    const column = o.via === 'self' ? 'id' : o.column
    const statement = db.prepare(
      withStablePlan(`SELECT * FROM ${table.name} WHERE ${column} = ? ORDER BY ${table.orderBy}`),
    )
    try {
      for (const owner of owners)
        for (const raw of statement.iterate(owner)) yield decode(raw as Record<string, unknown>) as T
    } finally {
      statement.finalize()
    }
  }

  function count(table: OwnedTable): number {
    const o = table.owner
    const owners = o.via === 'team' ? teamIds : o.via === 'app' ? appIds : [userId]
    const column = o.via === 'self' ? 'id' : o.column
    const statement = db.query(withStablePlan(`SELECT count(*) AS n FROM ${table.name} WHERE ${column} = ?`))
    return owners.reduce((sum, owner) => sum + (statement.get(owner) as { n: number }).n, 0)
  }

  return {
    teamIds,
    appIds,
    rows,
    count,
    row<T>(table: SQLiteTable, keyColumn: string, key: string) {
      const raw = db.query(`SELECT * FROM ${getTableName(table)} WHERE ${keyColumn} = ?`).get(key) as Record<
        string,
        unknown
      > | null
      return raw ? (decoderOf(table)(raw) as T) : undefined
    },
    close() {
      try {
        if (db.inTransaction) db.exec('COMMIT')
      } finally {
        db.close(false)
      }
    },
  }
}

/** Raw bun:sqlite row → the object Drizzle would return (property names, booleans, JSON). */
function rowDecoder(table: SQLiteTable): (raw: Record<string, unknown>) => Record<string, unknown> {
  const columns = Object.entries(getTableColumns(table)) as [string, Column][]
  return (raw) => {
    const row: Record<string, unknown> = {}
    for (const [property, column] of columns) {
      const value = raw[column.name]
      row[property] = value === null || value === undefined ? null : column.mapFromDriverValue(value)
    }
    return row
  }
}
