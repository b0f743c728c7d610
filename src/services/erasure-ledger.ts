import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
} from 'node:fs'
import { dirname, join } from 'node:path'
import { and, eq, gte, inArray } from 'drizzle-orm'
import { exec, many } from '../../db/query'
import type { DeletionMode } from '../../db/schema'
import { isMemoryPath, readTransaction, type Store, writeTransaction } from '../../db/store'
import { accountDeletions, users } from '../../db/tables'
import { hashUserId } from '../lib/pseudonym'
import { announceErasureRequested } from './erasure-processors'

/**
 * The erasure ledger: one JSON line per completed erasure, appended beside the database
 * (`erasure-ledger.jsonl`). It is what lets a restored backup forget again the accounts erased
 * after that backup was taken (docs/spec/data-rights.md: an erased account never comes back). It holds
 * only what a receipt holds — the deletion id, the keyed pseudonym, times, counts and the Stripe
 * objects that were stopped — none of it personal data.
 */
export interface LedgerEntry {
  id: string
  userHash: string
  mode: DeletionMode
  requestedAt: number
  completedAt: number
  counts: Record<string, number>
  stripeActions: string[]
}

/**
 * A legal hold's state, appended whenever it is placed, changed or released (the newest line per
 * pseudonym counts): a restore puts back holds placed after the backup and drops the ones
 * released since. The reason is the operator's text — docs/erasure-proof.md asks for no personal data in it.
 */
export interface HoldEntry {
  kind: 'hold'
  userHash: string
  reason: string
  confidential: boolean
  until: number | null
  placedAt: number
  releasedAt: number | null
  /** When this state was set (the row's updated_at): the newer of ledger and database wins. */
  at: number
}

export const erasureLedgerPath = (databasePath: string) => join(dirname(databasePath), 'erasure-ledger.jsonl')

export class ErasureLedger {
  /** null: an in-memory database keeps no ledger. */
  readonly path: string | null

  constructor(databasePath: string) {
    this.path = isMemoryPath(databasePath) ? null : erasureLedgerPath(databasePath)
  }

  /** Creates the (empty) ledger if there is none, so that a missing one later means a lost one. */
  ensureExists() {
    if (this.path && !existsSync(this.path)) appendFileSync(this.path, '', { mode: 0o600 })
  }

  /**
   * Why the ledger cannot be trusted as the list of erasures: it is missing or unreadable (a
   * restore then stops unless told --ledger-missing-ok), else null.
   */
  problem(): string | null {
    if (!this.path) return null
    if (!existsSync(this.path)) return `the erasure ledger ${this.path} is missing`
    try {
      readFileSync(this.path)
      return null
    } catch (error) {
      return `the erasure ledger ${this.path} cannot be read (${(error as NodeJS.ErrnoException).code ?? error})`
    }
  }

  /** Sets an unreadable ledger aside (kept, renamed) and begins an empty one. */
  startOver() {
    if (!this.path) return
    if (existsSync(this.path)) renameSync(this.path, `${this.path}.unreadable-${Date.now()}`)
    this.known = null
    this.holdStates = null
    this.ensureExists()
  }

  /** Deletion ids already in the file (read once, then kept up to date by append). */
  private known: Set<string> | null = null

  has(id: string): boolean {
    this.known ??= new Set(this.entries().map((e) => e.id))
    return this.known.has(id)
  }

  /** Reads the file again: another process (`custodian purge`) may have appended to it. */
  reload() {
    this.known = null
    this.holdStates = null
  }

  /** Receipts completed before this (epoch ms) are in the ledger already (copyErasuresFromStore). */
  syncedThrough: number | null = null

  /** Appends one entry, on a line of its own, and syncs it to disk before returning. */
  append(entry: LedgerEntry) {
    this.known?.add(entry.id)
    this.appendLine(entry)
  }

  appendHold(entry: HoldEntry) {
    if (this.holdStates) keepNewest(this.holdStates, entry)
    this.appendLine(entry)
  }

  /**
   * Each pseudonym's newest hold, read from the file once and kept up to date by appendHold: the
   * instances' ledger sync asks every worker interval, and the file grows with every erasure.
   */
  private holdStates: Map<string, HoldEntry> | null = null

  private appendLine(entry: LedgerEntry | HoldEntry) {
    if (!this.path) return
    // IMPORTANT: a crash mid-append leaves a torn last line without its newline; an entry appended
    // after it would join that line and be unreadable too.
    const lead = this.endsTorn() ? '\n' : ''
    appendFileSync(this.path, `${lead}${JSON.stringify(entry)}\n`, { mode: 0o600 })
    const fd = openSync(this.path, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  }

  private endsTorn(): boolean {
    if (!this.path || !existsSync(this.path)) return false
    const fd = openSync(this.path, 'r')
    try {
      const size = fstatSync(fd).size
      if (size === 0) return false
      const last = Buffer.alloc(1)
      readSync(fd, last, 0, 1, size - 1)
      return last[0] !== 0x0a
    } finally {
      closeSync(fd)
    }
  }

  /** Every erasure entry, once per deletion id (a line half-written by a crash is skipped). */
  entries(): LedgerEntry[] {
    const byId = new Map<string, LedgerEntry>()
    for (const entry of this.lines())
      if (!('kind' in entry) && typeof entry.id === 'string' && typeof entry.userHash === 'string')
        byId.set(entry.id, entry)
    return [...byId.values()]
  }

  /** The newest state of each pseudonym's hold. */
  holds(): ReadonlyMap<string, HoldEntry> {
    if (!this.holdStates) {
      this.holdStates = new Map()
      for (const entry of this.lines())
        if ('kind' in entry && entry.kind === 'hold' && typeof entry.userHash === 'string')
          keepNewest(this.holdStates, entry)
    }
    return this.holdStates
  }

  private lines(): (LedgerEntry | HoldEntry)[] {
    if (!this.path || !existsSync(this.path)) return []
    const parsed: (LedgerEntry | HoldEntry)[] = []
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (!line.trim()) continue
      try {
        parsed.push(JSON.parse(line))
      } catch {
        // A torn last line from a crash mid-append: re-appended from the database.
      }
    }
    return parsed
  }
}

function keepNewest(byHash: Map<string, HoldEntry>, entry: HoldEntry) {
  const seen = byHash.get(entry.userHash)
  if (!seen || seen.at <= entry.at) byHash.set(entry.userHash, entry)
}

export const ledgerEntryOf = (row: typeof accountDeletions.$inferSelect): LedgerEntry => ({
  id: row.id,
  userHash: row.userHash,
  mode: row.mode,
  requestedAt: row.requestedAt,
  completedAt: row.completedAt ?? row.updatedAt,
  counts: row.counts ?? {},
  stripeActions: row.stripeActions ?? [],
})

export interface LedgerReconciliation {
  /** Done receipts of the database that were missing from the ledger (a crash after commit). */
  appended: number
  /** Ledger entries whose account was found in the database again (a restored backup). */
  toErase: { deletionId: string; userId: string }[]
  /** Ledger entries whose account is absent: only their receipt was copied in. */
  receiptsCopied: number
}

/**
 * Brings the ledger and the database into agreement, in both directions: receipts the ledger
 * lacks are appended; ledger entries the database lacks are written back as receipts. An entry
 * whose account exists in the database (restored from a backup older than the erasure) gets its
 * receipt back as a `billing_stopped` job holding that user id — Stripe was stopped by the
 * original erasure — so the deletion service erases it locally before anything is served.
 * Users are hashed only when some entry is missing, so a normal start costs one read.
 */
export async function reconcileLedger(
  store: Store,
  ledger: ErasureLedger,
  now: number,
): Promise<LedgerReconciliation> {
  const result: LedgerReconciliation = { appended: 0, toErase: [], receiptsCopied: 0 }
  if (!ledger.path) return result
  const entries = ledger.entries()
  const inLedger = new Set(entries.map((e) => e.id))
  const receipts = await readTransaction(store, (tx) => many(tx.select().from(accountDeletions)))
  const known = new Map(receipts.map((r) => [r.id, r]))
  for (const receipt of receipts)
    if (receipt.step === 'done' && !inLedger.has(receipt.id)) {
      ledger.append(ledgerEntryOf(receipt))
      result.appended++
    }
  const missing = entries.filter((e) => known.get(e.id)?.step !== 'done')
  if (missing.length === 0) return result
  const userByHash = new Map<string, string>()
  for (const { id } of await readTransaction(store, (tx) => many(tx.select({ id: users.id }).from(users))))
    userByHash.set(hashUserId(id), id)
  await writeTransaction(store, async (tx) => {
    for (const entry of missing) {
      const userId = userByHash.get(entry.userHash) ?? null
      await exec(tx.delete(accountDeletions).where(eq(accountDeletions.id, entry.id)))
      await exec(
        tx.insert(accountDeletions).values({
          id: entry.id,
          userId,
          userHash: entry.userHash,
          mode: entry.mode,
          step: userId ? 'billing_stopped' : 'done',
          counts: userId ? {} : entry.counts,
          stripeActions: entry.stripeActions,
          requestedAt: entry.requestedAt,
          updatedAt: now,
          completedAt: userId ? null : entry.completedAt,
        }),
      )
      if (userId) {
        await exec(tx.update(users).set({ erasureRequestedAt: now }).where(eq(users.id, userId)))
        // The restored backup brought the account back to the processors' view too: ask again.
        await announceErasureRequested(tx, { now: () => now }, userId, entry.id, 'restore_replay')
        result.toErase.push({ deletionId: entry.id, userId })
      } else result.receiptsCopied++
    }
  })
  return result
}

/** Where instances announce a completed erasure (PostgreSQL NOTIFY; db/store.ts, announce). */
export const ERASURES_CHANNEL = 'custodian_erasures'

/**
 * Appends to this instance's ledger every completed erasure the database holds and the ledger
 * lacks — those other instances completed. Run when another instance announces one and on every
 * worker turn (which catches up what a missed notification did not bring), so that every
 * instance's ledger holds every erasure: losing one instance's volume loses none, and whichever
 * instance starts after a `pg_restore` erases again what any of them erased. Answers how many
 * entries it appended.
 */
export async function copyErasuresFromStore(store: Store, ledger: ErasureLedger): Promise<number> {
  if (!ledger.path) return 0
  // After the first pass only receipts completed since the last one are read, less a margin for
  // other instances' clocks: the cost stays flat as receipts accumulate.
  const since = ledger.syncedThrough === null ? null : ledger.syncedThrough - CLOCK_SKEW_MS
  const done = await readTransaction(store, (tx) =>
    many(
      tx
        .select({ id: accountDeletions.id, completedAt: accountDeletions.completedAt })
        .from(accountDeletions)
        .where(
          since === null
            ? eq(accountDeletions.step, 'done')
            : and(eq(accountDeletions.step, 'done'), gte(accountDeletions.completedAt, since)),
        ),
    ),
  )
  const newest = done.reduce((max, r) => Math.max(max, r.completedAt ?? 0), ledger.syncedThrough ?? 0)
  let missing = done.filter((r) => !ledger.has(r.id)).map((r) => r.id)
  if (missing.length > 0) {
    ledger.reload()
    missing = missing.filter((id) => !ledger.has(id))
  }
  let appended = 0
  if (missing.length > 0) {
    const rows = await readTransaction(store, (tx) =>
      many(tx.select().from(accountDeletions).where(inArray(accountDeletions.id, missing))),
    )
    for (const row of rows)
      if (row.step === 'done' && !ledger.has(row.id)) {
        ledger.append(ledgerEntryOf(row))
        appended++
      }
  }
  ledger.syncedThrough = newest
  return appended
}

/** How far another instance's clock may be behind this one's, for the incremental copy. */
const CLOCK_SKEW_MS = 10 * 60 * 1000
