import { BunSQLPreparedQuery } from 'drizzle-orm/bun-sql/session'
import { PgDeleteBase, PgInsertBase, PgPreparedQuery, PgSelectBase, PgUpdateBase } from 'drizzle-orm/pg-core'

/**
 * Services run one code path on both stores (docs/architecture.md): they build queries with the
 * bindings of db/tables.ts and execute them the SQLite way — `.get()`, `.all()`, `.run()` — always
 * awaited. On SQLite those answer at once; here, on PostgreSQL's query builders and prepared
 * queries, they are the same three verbs over Drizzle's `execute`, answering promises of the
 * shapes bun:sqlite answers: the first row or undefined, the rows, `{ changes }`.
 * Installed once, when a PostgreSQL store is opened.
 */
interface Executable {
  execute(placeholders?: Record<string, unknown>): Promise<unknown>
}

const verbs = {
  all(this: Executable, placeholders?: Record<string, unknown>) {
    return this.execute(placeholders)
  },
  get(this: Executable, placeholders?: Record<string, unknown>) {
    return this.execute(placeholders).then((rows) => (rows as unknown[])[0])
  },
  run(this: Executable, placeholders?: Record<string, unknown>) {
    return this.execute(placeholders).then((result) => {
      const r = result as { count?: number; length: number }
      return { changes: r.count ?? r.length }
    })
  },
}

let installed = false
export function installSqliteShapedVerbs() {
  if (installed) return
  installed = true
  // Bun's prepared query has an `all` of its own that skips Drizzle's row mapping (raw column
  // names, BigInts): it is replaced too.
  for (const cls of [
    PgSelectBase,
    PgInsertBase,
    PgUpdateBase,
    PgDeleteBase,
    PgPreparedQuery,
    BunSQLPreparedQuery,
  ])
    for (const [name, fn] of Object.entries(verbs))
      Object.defineProperty(cls.prototype, name, { value: fn, writable: true, configurable: true })
}
