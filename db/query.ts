/**
 * The three ways a service runs a query built with db/tables.ts, the same on both engines:
 * `one` (the first row, or undefined), `many` (the rows), `exec` (how many rows it changed).
 * SQLite's builders answer at once (`get`, `all`, `run`); PostgreSQL's through `execute`. Placeholders
 * go to prepared queries (`preparedFor`).
 */
type Placeholders = Record<string, unknown>

interface PgExecutable {
  execute(placeholders?: Placeholders): Promise<unknown>
}

/** SQLite's builders and prepared queries have `get`; PostgreSQL's have only `execute`. */
const onSqlite = (query: object): boolean => typeof (query as { get?: unknown }).get === 'function'

export async function one<Row>(
  query: { get(placeholders?: Placeholders): Row },
  placeholders?: Placeholders,
): Promise<Awaited<Row>> {
  if (onSqlite(query)) return query.get(placeholders) as Awaited<Row>
  const rows = (await (query as unknown as PgExecutable).execute(placeholders)) as Awaited<Row>[]
  return rows[0] as Awaited<Row>
}

export async function many<Rows>(
  query: { all(placeholders?: Placeholders): Rows },
  placeholders?: Placeholders,
): Promise<Awaited<Rows>> {
  if (onSqlite(query)) return query.all(placeholders) as Awaited<Rows>
  return (await (query as unknown as PgExecutable).execute(placeholders)) as Awaited<Rows>
}

export async function exec(
  query: { run(placeholders?: Placeholders): unknown },
  placeholders?: Placeholders,
): Promise<{ changes: number }> {
  if (onSqlite(query)) return query.run(placeholders) as { changes: number }
  // Bun's SQL answers an array carrying `count` (rows affected); with RETURNING, the rows.
  const result = (await (query as unknown as PgExecutable).execute(placeholders)) as {
    count?: number
    length: number
  }
  return { changes: result.count ?? result.length }
}
