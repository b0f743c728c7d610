import type { SqliteStore as Store } from './store'

/**
 * The note `custodian migrate-store` leaves in a SQLite database once its rows live in PostgreSQL:
 * every later command on the file refuses, naming where the deployment went, so a command run
 * without DATABASE_URL cannot quietly write to the old copy. A table outside the schema (never
 * exported, never moved): only the move creates it.
 */
export const MOVED_TABLE = 'custodian_moved_to'
const TABLE = MOVED_TABLE

export interface MovedTo {
  /** The PostgreSQL URL without its password. */
  target: string
  movedAt: string
}

export function markMoved(store: Store, target: string, now = new Date()) {
  store.sqlite.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (target TEXT NOT NULL, moved_at TEXT NOT NULL)`)
  store.sqlite.run(`INSERT INTO ${TABLE} (target, moved_at) VALUES (?, ?)`, [target, now.toISOString()])
}

export function movedTo(store: Store): MovedTo | null {
  const exists = store.sqlite
    .query(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '${TABLE}'`)
    .get()
  if (!exists) return null
  const row = store.sqlite
    .query(`SELECT target, moved_at AS movedAt FROM ${TABLE} ORDER BY rowid DESC LIMIT 1`)
    .get()
  return (row as MovedTo | null) ?? null
}

export const movedMessage = (path: string, moved: MovedTo) =>
  `${path} was moved to PostgreSQL (${moved.target}) by custodian migrate-store on ${moved.movedAt}: set DATABASE_URL to that database. This file is kept only as the move's source; nothing reads or writes it any more.`
