import type { Database, SQLQueryBindings, Statement } from 'bun:sqlite'

/**
 * Raw SQL for the statements Drizzle's builder is too slow or too clumsy for (hot lookups, row
 * values, bulk deletes). Written once, in SQLite's dialect — `?`, `?N` or `$name` parameters,
 * `+` before a parameter to keep SQLite's plan (db/sqlite/stable-plans.ts) — and run on either store:
 * on SQLite as a bun:sqlite statement; on PostgreSQL translated (`$N` parameters, no unary plus)
 * and run on the transaction's connection, with rows shaped as bun:sqlite shapes them (booleans
 * as 1/0, 64-bit integers as numbers, JSON as its text). Where the dialects differ, a statement
 * says so with the connection's `words`, never with SQL of one engine.
 */
export interface RawDb {
  prepare<Row = unknown, Params extends SQLQueryBindings[] = SQLQueryBindings[]>(
    sql: string,
  ): Statement<Row, Params>
  readonly words: SqlWords
}

/** The few places where a statement written for both engines needs each engine's own word. */
export interface SqlWords {
  /** A row's physical address, for picking rows without sorting: `rowid`, `ctid`. */
  readonly rowAddress: string
  /** A parameter holding JSON text, as the JSON column takes it. */
  json(parameter: string): string
  /** An aggregate of 64-bit integers as a 64-bit integer (PostgreSQL sums them as numeric). */
  bigint(expression: string): string
  /** A parameter with its type stated, where PostgreSQL cannot infer it (a SELECT list). */
  typed(parameter: string, type: 'text' | 'bigint'): string
  /**
   * A row-locking clause (`FOR SHARE`…) as written, on PostgreSQL; nothing on SQLite, where a
   * write transaction already excludes every other writer.
   */
  locking(clause: string): string
  /** A statement taking a transaction-scoped lock on a name, on PostgreSQL; null on SQLite (as above). */
  nameLock(space: number, parameter: string): string | null
}

const SQLITE_WORDS: SqlWords = {
  rowAddress: 'rowid',
  json: (parameter) => parameter,
  bigint: (expression) => expression,
  typed: (parameter) => parameter,
  locking: () => '',
  nameLock: () => null,
}
const POSTGRES_WORDS: SqlWords = {
  rowAddress: 'ctid',
  json: (parameter) => `${parameter}::text::json`,
  bigint: (expression) => `(${expression})::bigint`,
  typed: (parameter, type) => `${parameter}::${type}`,
  locking: (clause) => ` ${clause}`,
  nameLock: (space, parameter) =>
    `SELECT pg_advisory_xact_lock(${space}, hashtext(${parameter})) IS NULL AS locked`,
}

/** Bun SQL's transaction client, as far as raw statements use it. */
export interface PgClient {
  unsafe(text: string, params?: unknown[]): Promise<Record<string, unknown>[] & { count?: number }>
}

export const sqliteRaw = (db: Database): RawDb => ({
  prepare: (sql) => db.prepare(sql) as never,
  words: SQLITE_WORDS,
})

export function postgresRaw(client: PgClient): RawDb {
  return {
    words: POSTGRES_WORDS,
    prepare(sql) {
      const { text, names } = translated(sql)
      const run = (params: unknown[]) => {
        const values =
          names.length > 0
            ? names.map((name) => (params[0] as Record<string, unknown>)[name] ?? null)
            : params.map((v) => (v === undefined ? null : v))
        return client.unsafe(text, values)
      }
      const statement = {
        all: (...params: unknown[]) => run(params).then((rows) => rows.map(sqliteShaped)),
        get: (...params: unknown[]) => run(params).then((rows) => (rows[0] ? sqliteShaped(rows[0]) : null)),
        run: (...params: unknown[]) => run(params).then((rows) => ({ changes: rows.count ?? 0 })),
      }
      return statement as never
    },
  }
}

// Statements are prepared per transaction on PostgreSQL (a transaction is its own connection
// handle), so the translation is kept per SQL text: translating each time was ~10% of a sandbox
// create's server CPU. The texts are the module-level statements: few, and fixed.
const translations = new Map<string, { text: string; names: string[] }>()
function translated(sql: string) {
  let found = translations.get(sql)
  if (!found) {
    found = toPostgres(sql)
    if (translations.size >= 1000) translations.clear() // a bound, should a text ever carry values
    translations.set(sql, found)
  }
  return found
}

/** SQLite parameter syntax to PostgreSQL's: `?` → `$n`, `?N` → `$N`, `$name` → `$n` (by first use). */
export function toPostgres(sql: string): { text: string; names: string[] } {
  const names: string[] = []
  let positional = 0
  let text = ''
  let quote: string | null = null
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i] as string
    if (quote) {
      if (c === quote) quote = null
      text += c
      continue
    }
    if (c === "'" || c === '"') {
      quote = c
      text += c
      continue
    }
    // A unary plus before a parameter (SQLite's plan keeper) means nothing here, and PostgreSQL
    // has no unary plus for text.
    if (c === '+' && (sql[i + 1] === '?' || sql[i + 1] === '$') && /[=(,]\s*$|\bLIMIT\s*$/i.test(text))
      continue
    if (c === '?') {
      const digits = /^\d+/.exec(sql.slice(i + 1))?.[0]
      if (digits) {
        text += `$${digits}`
        i += digits.length
      } else text += `$${++positional}`
      continue
    }
    if (c === '$') {
      const name = /^[A-Za-z_]\w*/.exec(sql.slice(i + 1))?.[0]
      if (name) {
        let index = names.indexOf(name)
        if (index < 0) index = names.push(name) - 1
        text += `$${index + 1}`
        i += name.length
        continue
      }
    }
    text += c
  }
  return { text, names }
}

/** A PostgreSQL row as bun:sqlite would answer it. */
function sqliteShaped(row: Record<string, unknown>): Record<string, unknown> {
  for (const key in row) {
    const value = row[key]
    if (typeof value === 'boolean') row[key] = value ? 1 : 0
    else if (typeof value === 'bigint') row[key] = Number(value)
    else if (
      value !== null &&
      typeof value === 'object' &&
      !(value instanceof Uint8Array) &&
      !(value instanceof Date)
    )
      row[key] = JSON.stringify(value)
  }
  return row
}
