import { createHash } from 'node:crypto'
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import type { SQL } from 'bun'
import { MOVED_TABLE } from '../sqlite/moved'
import type { SqliteStore as Store } from '../sqlite/store'
import { migratePg } from './migrate'

/**
 * `custodian migrate-store`: copies a SQLite deployment — every row of every table, and the files
 * under STORAGE_DIR plus the two beside the database — into a PostgreSQL database, then checks
 * it. The rows are read from one SQLite snapshot (a server may go on writing); everything is
 * written in ONE PostgreSQL transaction that commits only after each table's row count and
 * digest, read back through a cursor, equal the source's. Interrupted (Ctrl-C, kill -9, a lost
 * connection), the transaction never commits and the target holds only the migrated, empty
 * schema, so the command can simply be run again. A target with data is refused.
 */

export interface MoveProgress {
  phase: 'rows' | 'files' | 'verify'
  /** A table name, or `files`. */
  item: string
  done: number
  total: number
}

export interface TableReport {
  table: string
  rows: number
  /** SHA-256 of the table's canonical rows in key order (the same on both sides). */
  sha256: string
}

export interface MoveReport {
  tables: TableReport[]
  files: { count: number; bytes: number; sha256: string }
}

/** A file to store: its path in `stored_files` and where it is on disk. */
export interface FileToStore {
  path: string
  file: string
}

export class TargetNotEmptyError extends Error {}
export class TargetUnreachableError extends Error {}
export class VerificationError extends Error {}

/** Where a postgres:// URL points, for messages: user, host, port, database — never the password. */
export function describeTarget(url: string): string {
  try {
    const parsed = new URL(url)
    const socket = parsed.searchParams.get('host')
    const host = socket ?? `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`
    const user = parsed.username ? `${decodeURIComponent(parsed.username)}@` : ''
    return `${user}${host}/${decodeURIComponent(parsed.pathname.slice(1)) || '(default database)'}`
  } catch {
    return '(an unparsable URL)'
  }
}

/** One round trip before anything else, so an unreachable target is named plainly. */
export async function checkReachable(target: SQL, url: string): Promise<void> {
  try {
    await target`SELECT 1`
  } catch (error) {
    const e = error as { code?: string; message?: string }
    throw new TargetUnreachableError(
      `Cannot connect to PostgreSQL at ${describeTarget(url)}: ${[e.code, e.message].filter(Boolean).join(': ')}`,
    )
  }
}

/** Filled by the migrations themselves; the source's rows replace them. */
const SEEDED_TABLES = new Set(['quota_tiers', 'change_epochs'])
// custodian_moved_to: the note a finished move leaves in its source (db/sqlite/moved.ts).
const INTERNAL_TABLES = new Set(['__drizzle_migrations', 'sqlite_sequence', MOVED_TABLE])
const ROWS_PER_INSERT = 500
const ROWS_PER_FETCH = 2000

interface Column {
  name: string
  /** PostgreSQL's data_type of the column: text, bigint, boolean, double precision, json. */
  type: string
}

interface TablePlan {
  name: string
  columns: Column[]
  /** Primary-key columns, in key order: both sides are read in this order. */
  key: string[]
  rows: number
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`

export async function moveToPostgres(options: {
  source: Store
  target: SQL
  files: FileToStore[]
  onProgress?: (progress: MoveProgress) => void
}): Promise<MoveReport> {
  const { source, target, files } = options
  const progress = options.onProgress ?? (() => {})
  await migratePg(target)
  const tables = foreignKeyOrder(source)
  await refuseNonEmptyTarget(target, tables)
  const db = source.sqlite
  // One snapshot of every table: a deferred read transaction, fixed at its first SELECT.
  db.exec('BEGIN')
  try {
    const plans: TablePlan[] = []
    for (const table of tables) plans.push(await planTable(source, target, table))
    return await target.begin(async (tx) => {
      const reports: TableReport[] = []
      for (const plan of plans) {
        if (SEEDED_TABLES.has(plan.name)) await tx.unsafe(`DELETE FROM ${quote(plan.name)}`)
        reports.push(await copyTable(source, tx, plan, progress))
      }
      const fileReport = await copyFiles(tx, files, progress)
      for (const [i, plan] of plans.entries())
        await verifyTable(tx, plan, reports[i] as TableReport, progress)
      await verifyFiles(tx, fileReport)
      return { tables: reports, files: fileReport }
    })
  } finally {
    db.exec('COMMIT')
  }
}

/** Source tables, each after the tables its foreign keys point at. */
function foreignKeyOrder(source: Store): string[] {
  const names = (
    source.sqlite.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string
    }[]
  )
    .map((r) => r.name)
    .filter((n) => !INTERNAL_TABLES.has(n))
  const ordered: string[] = []
  const visiting = new Set<string>()
  const visit = (name: string) => {
    if (ordered.includes(name) || visiting.has(name)) return
    visiting.add(name)
    const keys = source.sqlite.query(`PRAGMA foreign_key_list(${quote(name)})`).all() as { table: string }[]
    for (const key of keys) if (key.table !== name) visit(key.table)
    ordered.push(name)
  }
  for (const name of names) visit(name)
  // Last: copying every other table fires the change-epoch triggers, which raise these counters;
  // the source's values are put in after that (and nothing references them).
  return [...ordered.filter((n) => n !== 'change_epochs'), ...ordered.filter((n) => n === 'change_epochs')]
}

async function refuseNonEmptyTarget(target: SQL, tables: string[]) {
  const holding: string[] = []
  for (const table of [...tables.filter((t) => !SEEDED_TABLES.has(t)), 'stored_files']) {
    const [row] = await target.unsafe(`SELECT EXISTS (SELECT 1 FROM ${quote(table)}) AS found`)
    if (row.found) holding.push(table)
  }
  if (holding.length)
    throw new TargetNotEmptyError(
      `The target database already holds data (${holding.join(', ')}); migrate-store writes only into an empty one.`,
    )
}

async function planTable(source: Store, target: SQL, table: string): Promise<TablePlan> {
  const info = source.sqlite.query(`PRAGMA table_info(${quote(table)})`).all() as {
    name: string
    pk: number
  }[]
  const types = new Map<string, string>(
    (
      (await target`
      SELECT column_name, data_type FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = ${table}`) as {
        column_name: string
        data_type: string
      }[]
    ).map((c) => [c.column_name, c.data_type]),
  )
  const columns = info.map((c) => {
    const type = types.get(c.name)
    if (!type)
      throw new Error(
        `The target has no column ${table}.${c.name}: are both databases migrated to this version?`,
      )
    return { name: c.name, type }
  })
  const key = info
    .filter((c) => c.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((c) => c.name)
  const { n } = source.sqlite.query(`SELECT count(*) AS n FROM ${quote(table)}`).get() as { n: number }
  return { name: table, columns, key: key.length ? key : columns.map((c) => c.name), rows: n }
}

/**
 * One row as both sides agree to see it: SQLite's representation (booleans 0/1, JSON as its
 * text, integers as numbers), whatever PostgreSQL's driver hands back.
 */
function canonicalLine(values: unknown[], columns: Column[]): string {
  return `${JSON.stringify(
    values.map((value, i) => {
      if (value === null || value === undefined) return null
      const type = (columns[i] as Column).type
      if (type === 'boolean') return value === true || value === 1 ? 1 : 0
      if (type === 'bigint' || type === 'double precision') return Number(value)
      return value
    }),
  )}\n`
}

async function copyTable(
  source: Store,
  tx: SQL,
  plan: TablePlan,
  progress: (p: MoveProgress) => void,
): Promise<TableReport> {
  const names = plan.columns.map((c) => quote(c.name)).join(', ')
  const select = source.sqlite.query(
    `SELECT ${names} FROM ${quote(plan.name)} ORDER BY ${plan.key.map(quote).join(', ')}`,
  )
  const hash = createHash('sha256')
  let batch: unknown[][] = []
  let copied = 0
  const flush = async () => {
    if (!batch.length) return
    await insertRows(tx, plan, batch)
    copied += batch.length
    batch = []
    progress({ phase: 'rows', item: plan.name, done: copied, total: plan.rows })
  }
  progress({ phase: 'rows', item: plan.name, done: 0, total: plan.rows })
  // iterate(): one row at a time, so a table of any size is copied in bounded memory.
  for (const record of select.iterate() as IterableIterator<Record<string, unknown>>) {
    const row = plan.columns.map((c) => record[c.name])
    hash.update(canonicalLine(row, plan.columns))
    batch.push(row)
    if (batch.length === ROWS_PER_INSERT) await flush()
  }
  await flush()
  return { table: plan.name, rows: copied, sha256: hash.digest('hex') }
}

async function insertRows(tx: SQL, plan: TablePlan, rows: unknown[][]) {
  const params: unknown[] = []
  const tuples = rows.map((row) => {
    const placeholders = row.map((value, i) => {
      const column = plan.columns[i] as Column
      params.push(value === null ? null : column.type === 'boolean' ? value === 1 || value === true : value)
      // JSON goes in as its text: a string parameter bound to a json column directly would be
      // stored as a JSON *string* of that text.
      return column.type === 'json' ? `$${params.length}::text::json` : `$${params.length}`
    })
    return `(${placeholders.join(', ')})`
  })
  await tx.unsafe(
    `INSERT INTO ${quote(plan.name)} (${plan.columns.map((c) => quote(c.name)).join(', ')}) VALUES ${tuples.join(', ')}`,
    params,
  )
}

/** Reads the copied table back in key order through a cursor and compares count and digest. */
async function verifyTable(
  tx: SQL,
  plan: TablePlan,
  copied: TableReport,
  progress: (p: MoveProgress) => void,
) {
  const columns = plan.columns
    .map((c) => (c.type === 'json' ? `${quote(c.name)}::text AS ${quote(c.name)}` : quote(c.name)))
    .join(', ')
  // Text keys compared byte by byte, as SQLite's BINARY collation does, whatever the target's locale.
  const order = plan.key
    .map((name) => {
      const type = plan.columns.find((c) => c.name === name)?.type
      return type === 'text' ? `${quote(name)} COLLATE "C"` : quote(name)
    })
    .join(', ')
  await tx.unsafe(
    `DECLARE verify_rows NO SCROLL CURSOR FOR SELECT ${columns} FROM ${quote(plan.name)} ORDER BY ${order}`,
  )
  const hash = createHash('sha256')
  let rows = 0
  for (;;) {
    const fetched = (await tx.unsafe(`FETCH ${ROWS_PER_FETCH} FROM verify_rows`).values()) as unknown[][]
    for (const row of fetched) hash.update(canonicalLine(row, plan.columns))
    rows += fetched.length
    progress({ phase: 'verify', item: plan.name, done: rows, total: plan.rows })
    if (fetched.length < ROWS_PER_FETCH) break
  }
  await tx.unsafe('CLOSE verify_rows')
  const digest = hash.digest('hex')
  if (rows !== copied.rows || digest !== copied.sha256)
    throw new VerificationError(
      `Verification failed for ${plan.name}: the source has ${copied.rows} rows (sha256 ${copied.sha256}), the target ${rows} (sha256 ${digest}). Nothing was committed.`,
    )
}

/** Every regular file under `directory` (links and special files are not followed). */
export function filesUnder(directory: string): FileToStore[] {
  if (!existsSync(directory)) return []
  const found: FileToStore[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const file = join(dir, entry)
      const stat = lstatSync(file)
      if (stat.isDirectory()) walk(file)
      else if (stat.isFile()) found.push({ path: relative(directory, file).split(sep).join('/'), file })
    }
  }
  walk(directory)
  return found
}

const fileLine = (path: string, sha256: string, size: number) => `${path} ${sha256} ${size}\n`
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))

async function copyFiles(tx: SQL, files: FileToStore[], progress: (p: MoveProgress) => void) {
  const lines: string[] = []
  let bytes = 0
  for (const [i, entry] of files.entries()) {
    const content = readFileSync(entry.file)
    const sha256 = createHash('sha256').update(content).digest('hex')
    await tx.unsafe(
      'INSERT INTO stored_files (path, bytes, sha256, size, modified_at) VALUES ($1, $2, $3, $4, $5)',
      [entry.path, content, sha256, content.length, Math.round(lstatSync(entry.file).mtimeMs)],
    )
    lines.push(fileLine(entry.path, sha256, content.length))
    bytes += content.length
    progress({ phase: 'files', item: 'files', done: i + 1, total: files.length })
  }
  return { count: files.length, bytes, sha256: digestOfLines(lines) }
}

function digestOfLines(lines: string[]): string {
  const hash = createHash('sha256')
  for (const line of lines.sort(byteOrder)) hash.update(line)
  return hash.digest('hex')
}

/** The digests PostgreSQL computes of the bytes it holds, against those of the files read. */
async function verifyFiles(tx: SQL, copied: MoveReport['files']) {
  const rows = (await tx.unsafe(
    "SELECT path, encode(sha256(bytes), 'hex') AS sha256, length(bytes) AS size FROM stored_files",
  )) as { path: string; sha256: string; size: number }[]
  const digest = digestOfLines(rows.map((r) => fileLine(r.path, r.sha256, Number(r.size))))
  if (rows.length !== copied.count || digest !== copied.sha256)
    throw new VerificationError(
      `Verification failed for stored files: ${copied.count} read, ${rows.length} in the target. Nothing was committed.`,
    )
}
