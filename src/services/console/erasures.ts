import { and, desc, eq, notInArray } from 'drizzle-orm'
import { olderThan } from '../../../db/keyset'
import { many, one } from '../../../db/query'
import { readTransaction, type Store } from '../../../db/store'
import { accountDeletions, erasureCertificates } from '../../../db/tables'
import { checkCertificate } from '../certificate-format'
import { certificateJwks } from '../erasure-certificates'
import { processorsOf } from '../erasure-processors'
import { STOPPED_STEPS } from './overview'

/** The Erasures page's filters: running (any unfinished step but the stopped ones), a stopped step, done, or all. */
export type ErasureState = 'all' | 'running' | 'incomplete' | 'blocked_legal_hold' | 'done'

const stateFilter = (state: ErasureState) =>
  state === 'all'
    ? undefined
    : state === 'running'
      ? notInArray(accountDeletions.step, ['done', ...STOPPED_STEPS])
      : eq(accountDeletions.step, state)

/** Receipts, newest first, keyset-paged on (requested_at, id). */
export function listErasures(
  store: Store,
  state: ErasureState,
  limit: number,
  before: { at: number; id: string } | null,
) {
  return readTransaction(store, async (tx) => {
    const rows = await many(
      tx
        .select()
        .from(accountDeletions)
        .where(and(stateFilter(state), olderThan(accountDeletions.requestedAt, accountDeletions.id, before)))
        .orderBy(desc(accountDeletions.requestedAt), desc(accountDeletions.id))
        .limit(limit + 1),
    )
    const page = rows.slice(0, limit)
    const last = page.at(-1)
    return { rows: page, next: rows.length > limit && last ? { at: last.requestedAt, id: last.id } : null }
  })
}

/** One receipt, its processors and its certificate (null until issued). */
export function erasureDetail(store: Store, id: string) {
  return readTransaction(store, async (tx) => {
    const receipt = await one(tx.select().from(accountDeletions).where(eq(accountDeletions.id, id)))
    if (!receipt) return null
    const certificate = await one(
      tx
        .select({
          seq: erasureCertificates.seq,
          hash: erasureCertificates.hash,
          createdAt: erasureCertificates.createdAt,
        })
        .from(erasureCertificates)
        .where(eq(erasureCertificates.erasureId, id)),
    )
    return {
      receipt,
      processors: (await processorsOf(tx, [id])).get(id) ?? [],
      certificate: certificate ?? null,
    }
  })
}

/**
 * Checks a stored certificate as an outsider would (custodian verify-certificate): its signature
 * against this server's published keys, and its link to the certificate before it in the chain.
 */
export async function verifyStoredCertificate(store: Store, erasureId: string) {
  const { own, previous } = await readTransaction(store, async (tx) => {
    const own = await one(
      tx
        .select({ seq: erasureCertificates.seq, document: erasureCertificates.document })
        .from(erasureCertificates)
        .where(eq(erasureCertificates.erasureId, erasureId)),
    )
    const previous = own
      ? await one(
          tx
            .select({ document: erasureCertificates.document })
            .from(erasureCertificates)
            .where(eq(erasureCertificates.seq, own.seq - 1)),
        )
      : undefined
    return { own, previous }
  })
  if (!own) return null
  const options = { jwks: await certificateJwks(store) }
  const checked = await checkCertificate(own.document, options)
  if (!checked.ok || !checked.payload) return checked
  if (checked.payload.previous_hash === null)
    return { ...checked, reasons: [...checked.reasons, 'first of the chain'] }
  const before = previous ? await checkCertificate(previous.document, options) : null
  if (!before?.ok || before.hash !== checked.payload.previous_hash)
    return {
      ...checked,
      ok: false,
      reasons: [`does not follow certificate ${own.seq - 1} of the chain (edited or replaced?)`],
    }
  return { ...checked, reasons: [...checked.reasons, `follows certificate ${own.seq - 1} of the chain`] }
}
