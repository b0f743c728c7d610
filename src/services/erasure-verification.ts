import { open } from 'node:fs/promises'
import { getTableColumns } from 'drizzle-orm'
import { OWNED_TABLES } from '../../db/ownership'
import type { ErasureVerification } from '../../db/schema'
import { rawDbOf, readTransaction, type Store } from '../../db/store'
import type { Clock } from '../lib/clock'
import type { FileStorage } from '../lib/storage'
import { archiveDirectory } from './export-archives'

/**
 * The independent check that follows an erasure. It shares nothing with the erasure's own path
 * (the ownership registry's joins, the chunked deletes): the account's identifiers are gathered
 * before anything is erased, by plain queries of their own, and afterwards every identifier column
 * of every owned table is asked for any of them, the SQLite file and its WAL are read byte by byte for
 * the account's unique strings, and the stored files are listed by the app ids and domains. What it
 * finds becomes the receipt's `verification` and the certificate's; anything found makes the
 * erasure `incomplete` (retried), never `done`.
 */
export interface AccountIdentifiers {
  userId: string
  /** Every id and unique value the account had: user, teams, apps, keys, Stripe objects, domains, email. */
  values: string[]
  /** Unique strings looked for in the database's bytes: the email and the custom domains. */
  strings: string[]
  appIds: string[]
  domains: string[]
  /** Export archives: their files in storage. */
  exportIds: string[]
  source: ErasureVerification['identifierSource']
}

type Row = Record<string, string | null>

/** Gathers the account's identifiers (before its erasure; held in memory only). */
export function gatherIdentifiers(store: Store, userId: string): Promise<AccountIdentifiers> {
  return readTransaction(store, async (tx) => {
    const raw = rawDbOf(tx)
    const all = async (sql: string) => (await raw.prepare(sql).all(userId)) as Row[]
    const user = ((await raw
      .prepare('SELECT id, email, stripe_customer_id FROM users WHERE id = ?1')
      .get(userId)) ?? null) as Row | null
    const teams = await all('SELECT id FROM teams WHERE owner_user_id = ?1')
    const apps = await all('SELECT id FROM apps WHERE user_id = ?1')
    const domains = await all(
      'SELECT custom_domain FROM sites WHERE custom_domain IS NOT NULL AND app_id IN (SELECT id FROM apps WHERE user_id = ?1)',
    )
    const keys = await all('SELECT id FROM api_keys WHERE user_id = ?1')
    const subscriptions = await all('SELECT id, stripe_subscription_id FROM subscriptions WHERE user_id = ?1')
    const archives = await all('SELECT id FROM export_archives WHERE user_id = ?1')
    const values = new Set<string>([userId])
    const add = (rows: Row[]) => {
      for (const row of rows)
        for (const v of Object.values(row)) if (typeof v === 'string' && v) values.add(v)
    }
    add(user ? [user] : [])
    add(teams)
    add(apps)
    add(domains)
    add(keys)
    add(subscriptions)
    add(archives)
    const domainNames = domains.map((d) => d.custom_domain as string)
    const strings = [...(user?.email ? [user.email] : []), ...domainNames]
    return {
      userId,
      values: [...values],
      strings,
      appIds: apps.map((a) => a.id as string),
      domains: domainNames,
      exportIds: archives.map((a) => a.id as string),
      source: user ? 'gathered' : 'user_id_only',
    }
  })
}

export interface VerificationDeps {
  store: Store
  clock: Clock
  storage: FileStorage
}

/** Runs the verification pass for an erased account. */
export async function verifyErasure(
  deps: VerificationDeps,
  ids: AccountIdentifiers,
): Promise<ErasureVerification> {
  const tables = await countLeftoverRows(deps.store, ids.values)
  const bytes = await scanDatabaseFiles(deps.store.databaseFiles, ids.strings)
  let storagePathsChecked = 0
  let storageMatches = 0
  for (const path of [
    ...ids.appIds.map((id) => deps.storage.appPath(id)),
    ...ids.domains.map((d) => deps.storage.certPath(d)),
    ...ids.exportIds.map(archiveDirectory),
  ]) {
    storagePathsChecked++
    if ((await deps.storage.list(path)).length > 0 || (await deps.storage.read(path)) !== null)
      storageMatches++
  }
  const rows = Object.values(tables).reduce((a, b) => a + b, 0)
  return {
    checkedAt: deps.clock.now(),
    tables,
    identifiers: ids.values.length,
    identifierSource: ids.source,
    pagesScanned: bytes.pages,
    bytesScanned: bytes.bytes,
    byteMatches: bytes.matches,
    storagePathsChecked,
    storageMatches,
    clean: rows === 0 && bytes.matches === 0 && storageMatches === 0,
  }
}

/** Identifiers per query: well under SQLite's and PostgreSQL's parameter limits. */
const BATCH = 500

/**
 * Columns that can hold one of the identifiers: ids and references to them (`id`, `*_id`), the
 * principal of a stored replay, emails and domains. Asked one at a time, so each is answered by its
 * index where it has one — the pass costs what the account holds, not what the database holds.
 * Free text (names, descriptions, JSON) is what the byte scan reads (SQLite).
 */
const IDENTIFIER_COLUMN = /(^|_)(id|email|domain|principal)$/

/** Rows of each owned table in which an identifier column equals any of `values`. */
async function countLeftoverRows(store: Store, values: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  await readTransaction(store, async (tx) => {
    const raw = rawDbOf(tx)
    for (const table of OWNED_TABLES) {
      const columns = Object.values(getTableColumns(table.table))
        .filter((c) => c.columnType === 'SQLiteText' && IDENTIFIER_COLUMN.test(c.name))
        .map((c) => c.name)
      let found = 0
      for (const column of columns)
        for (let at = 0; at < values.length; at += BATCH) {
          const batch = values.slice(at, at + BATCH)
          const list = batch.map((_, i) => `?${i + 1}`).join(', ')
          const row = (await raw
            .prepare(`SELECT count(*) AS n FROM ${table.name} WHERE ${column} IN (${list})`)
            .get(...batch)) as { n: number }
          found += Number(row.n)
        }
      counts[table.name] = found
    }
  })
  return counts
}

const CHUNK = 4 * 1024 * 1024
const PAGE = 4096

/** Reads each file once, in chunks that overlap by the longest string, counting occurrences. */
async function scanDatabaseFiles(files: readonly string[], strings: string[]) {
  const needles = strings.filter((s) => s.length > 0).map((s) => Buffer.from(s))
  const overlap = Math.max(0, ...needles.map((n) => n.length - 1))
  let bytes = 0
  let matches = 0
  for (const path of files) {
    let handle: Awaited<ReturnType<typeof open>>
    try {
      handle = await open(path, 'r')
    } catch {
      continue // no -wal (truncated away, or the database is closed)
    }
    try {
      const buffer = Buffer.alloc(CHUNK + overlap)
      let carried = 0
      let position = 0
      for (;;) {
        const { bytesRead } = await handle.read(buffer, carried, CHUNK, position)
        if (bytesRead === 0) break
        position += bytesRead
        bytes += bytesRead
        const window = buffer.subarray(0, carried + bytesRead)
        for (const needle of needles)
          for (let at = window.indexOf(needle); at !== -1; at = window.indexOf(needle, at + 1))
            if (at + needle.length > carried) matches++ // not wholly inside the carried-over tail
        carried = Math.min(overlap, window.length)
        window.copyWithin(0, window.length - carried)
      }
    } finally {
      await handle.close()
    }
  }
  return { bytes, pages: Math.ceil(bytes / PAGE), matches }
}
