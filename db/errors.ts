/**
 * Whether `error` is a unique-constraint violation on `table.column` ("apps.slug"), on either
 * store: SQLite says `UNIQUE constraint failed: apps.slug`; PostgreSQL answers SQLSTATE 23505
 * with the table and `Key (slug)=(…) already exists.` (Drizzle wraps it; the driver's error is the
 * cause).
 */
export function isUniqueViolation(error: unknown, qualifiedColumn: string): boolean {
  if (!(error instanceof Error)) return false
  if (/UNIQUE constraint failed/.test(error.message)) return error.message.includes(qualifiedColumn)
  const [table, column] = qualifiedColumn.split('.')
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const pg = e as Error & { errno?: string; code?: string; table?: string; detail?: string }
    if ((pg.errno === '23505' || pg.code === '23505') && pg.table === table)
      return pg.detail?.startsWith(`Key (${column})=`) ?? false
  }
  return false
}
