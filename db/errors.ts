/**
 * Whether `error` is a unique-constraint violation on `table.column` ("apps.slug"), on either
 * store: SQLite says `UNIQUE constraint failed: apps.slug`; PostgreSQL answers SQLSTATE 23505
 * with the table and `Key (slug)=(…) already exists.` (Drizzle wraps it; the driver's error is the
 * cause).
 */
/** The SQLSTATE PostgreSQL answered, from `error` or one of its causes (Drizzle wraps the driver's). */
export function sqlStateOf(error: unknown): string | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const pg = e as Error & { errno?: unknown; code?: unknown }
    for (const value of [pg.errno, pg.code])
      if (typeof value === 'string' && /^[0-9A-Z]{5}$/.test(value)) return value
  }
  return null
}

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

export interface Unavailability {
  /** `database`: the store cannot be reached; `storage`: a disk (database or files) is full or read-only. */
  dependency: 'database' | 'storage'
  /** A full disk (507) rather than an unreachable or unwritable service (503). */
  full: boolean
  /** A short cause for the one log line of the episode (no SQL, no secrets). */
  reason: string
}

/** Bun SQL's codes for a connection that could not be made or was lost. */
const PG_CONNECTION_CODES = new Set([
  'ERR_POSTGRES_CONNECTION_CLOSED',
  'ERR_POSTGRES_CONNECTION_REFUSED',
  'ERR_POSTGRES_CONNECTION_TIMEOUT',
  'ERR_POSTGRES_IDLE_TIMEOUT',
  'ERR_POSTGRES_LIFETIME_TIMEOUT',
  'ERR_POSTGRES_TLS_NOT_AVAILABLE',
])

/**
 * Whether `error` (or one of its causes) says a service is unavailable rather than that the
 * request or the code is wrong: PostgreSQL unreachable, shutting down or out of connections
 * (SQLSTATE classes 08 and 57P, 53300); a full disk (SQLite's SQLITE_FULL, PostgreSQL's 53100,
 * ENOSPC or EDQUOT from a file write). Such failures answer 503/507, not 500.
 */
export function unavailability(error: unknown): Unavailability | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const x = e as Error & { code?: string; errno?: string | number }
    const code = String(x.code ?? '')
    const errno = String(x.errno ?? '')
    if (code === 'SQLITE_FULL' || /database or disk is full/.test(x.message))
      return { dependency: 'storage', full: true, reason: 'the database’s disk is full' }
    if (code === 'ENOSPC' || code === 'EDQUOT' || errno === '53100')
      return {
        dependency: 'storage',
        full: true,
        reason: code === 'EDQUOT' ? 'disk quota exceeded' : 'no space left on device',
      }
    if (code === 'EROFS' || ((code === 'EACCES' || code === 'EPERM') && 'syscall' in x))
      return { dependency: 'storage', full: false, reason: `a file cannot be written (${code})` }
    if (PG_CONNECTION_CODES.has(code))
      return { dependency: 'database', full: false, reason: code.toLowerCase() }
    if (/^08|^57P0[1-3]$|^53300$/.test(errno))
      return { dependency: 'database', full: false, reason: `SQLSTATE ${errno}` }
  }
  return null
}
