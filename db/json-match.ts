import { type SQL, sql } from 'drizzle-orm'
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core'
import { onPostgres, type Tx } from './store'

/**
 * Conditions that a JSON column's `key` equals `value` (a scalar, null, an object or an array),
 * in the transaction's dialect. `key` must already be checked (letters, digits, `_.:-`).
 * SQLite: `json_extract`, with a substring test first — the column holds compact JSON.stringify
 * text, so a matching scalar appears verbatim, which skips most rows before SQLite parses any JSON
 * (1.5× faster on a full scan). PostgreSQL: the field as jsonb against the value as jsonb (the
 * same equality for every kind of value; a missing key is never equal, not even to null).
 */
export function jsonFieldEquals(tx: Tx, column: SQLiteColumn, key: string, value: unknown): SQL[] {
  // `::text` first: Bun's client would encode a parameter it knows to be jsonb as a JSON string.
  if (onPostgres(tx)) return [sql`(${column}->${key}::text)::jsonb = ${JSON.stringify(value)}::text::jsonb`]
  const path = `$."${key}"`
  if (value !== null && typeof value === 'object')
    return [sql`json(json_extract(${column}, ${path})) = json(${JSON.stringify(value)})`]
  const verbatim = sql`instr(${column}, ${`${JSON.stringify(key)}:${JSON.stringify(value)}`}) > 0`
  if (typeof value === 'boolean') return [verbatim, sql`json_extract(${column}, ${path}) = ${value ? 1 : 0}`]
  if (value === null) return [verbatim, sql`json_type(${column}, ${path}) = 'null'`]
  return [verbatim, sql`json_extract(${column}, ${path}) = ${value as string | number}`]
}
