import { eq } from 'drizzle-orm'
import { exec, many } from '../../db/query'
import { readTransaction, type Store, writeTransaction } from '../../db/store'
import { legalHolds, users } from '../../db/tables'
import { hashUserId } from '../lib/pseudonym'
import type { ErasureLedger, HoldEntry } from './erasure-ledger'
import { holdEntryOf } from './legal-holds'

/**
 * Brings the holds of the database and of the ledger into agreement: for each account either
 * knows, the newer state wins (released rows stay in the database for exactly this). The ledger
 * always catches up; the database is changed only when `putBack` (at start, before anything is
 * served: a restored backup then gets back the holds placed after it was taken, and loses the ones
 * released since). Instances on one PostgreSQL database call it on every worker turn without
 * `putBack`, so that every instance's ledger holds every hold.
 */
export async function reconcileHolds(
  store: Store,
  ledger: ErasureLedger,
  putBack: boolean,
): Promise<{ appended: number; putBack: number }> {
  const result = { appended: 0, putBack: 0 }
  if (!ledger.path) return result
  const rows = await readTransaction(store, (tx) => many(tx.select().from(legalHolds)))
  const inLedger = ledger.holds()
  const newer: { userId: string; entry: HoldEntry }[] = []
  const seen = new Set<string>()
  for (const row of rows) {
    const hash = hashUserId(row.userId)
    seen.add(hash)
    const entry = inLedger.get(hash)
    if (!entry || entry.at < row.updatedAt) {
      ledger.appendHold(holdEntryOf(row))
      result.appended++
    } else if (entry.at > row.updatedAt) newer.push({ userId: row.userId, entry })
  }
  if (!putBack) return result
  const missing = [...inLedger.values()].filter((e) => !seen.has(e.userHash) && e.releasedAt === null)
  if (missing.length > 0) {
    const byHash = new Map<string, string>()
    for (const { id } of await readTransaction(store, (tx) => many(tx.select({ id: users.id }).from(users))))
      byHash.set(hashUserId(id), id)
    for (const entry of missing) {
      const userId = byHash.get(entry.userHash)
      if (userId) newer.push({ userId, entry })
    }
  }
  if (newer.length === 0) return result
  await writeTransaction(store, async (tx) => {
    for (const { userId, entry } of newer) {
      const values = {
        reason: entry.reason,
        confidential: entry.confidential,
        until: entry.until,
        placedAt: entry.placedAt,
        releasedAt: entry.releasedAt,
        updatedAt: entry.at,
      }
      await exec(tx.delete(legalHolds).where(eq(legalHolds.userId, userId)))
      await exec(tx.insert(legalHolds).values({ userId, ...values }))
      result.putBack++
    }
  })
  return result
}
