import { and, type Column, eq, lt, or, type SQL } from 'drizzle-orm'

/**
 * Keyset paging, newest first on (time, id): the rows after a page's last one. Both engines
 * compare column by column (SQLite's row values would do, but this form uses the (time, id)
 * index on each).
 */
export function olderThan(
  at: Column,
  id: Column,
  cursor: { at: number; id: string } | null,
): SQL | undefined {
  if (!cursor) return undefined
  return or(lt(at, cursor.at), and(eq(at, cursor.at), lt(id, cursor.id)))
}
