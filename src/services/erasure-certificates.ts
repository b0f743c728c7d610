import { desc, eq, gt } from 'drizzle-orm'
import { exec, many, one } from '../../db/query'
import { lockName } from '../../db/row-locks'
import type { DeletionRow } from '../../db/rows'
import type { ErasureVerification } from '../../db/schema'
import { readTransaction, type Store, type Tx } from '../../db/store'
import { certificateKeys, erasureCertificates } from '../../db/tables'
import { canonicalJson } from '../lib/canonical-json'
import { certificatePublicKey, signCertificateBytes } from '../lib/certificate-key'
import { sha256Hex } from '../lib/crypto'
import { toRfc3339 } from '../lib/time'
import { CERTIFICATE_TYPE, type CertificateEnvelope, type CertificatePayload } from './certificate-format'
import type { ProcessorRow } from './erasure-processors'

/**
 * Issues the erasure's certificate in the transaction that completes it: the payload (no personal
 * data: the pseudonym, ids, counts, Stripe steps, the verification, the processors told) names the
 * previous certificate's hash, is signed with Ed25519 and stored as the exact bytes served. One
 * chain per database: its head is taken under a lock (PostgreSQL; a SQLite write is alone anyway).
 */
export async function issueCertificate(
  tx: Tx,
  job: DeletionRow,
  verification: ErasureVerification,
  processors: ProcessorRow[],
  now: number,
): Promise<void> {
  await lockName(tx, 'erasure-certificates', 'chain')
  const head = await one(
    tx
      .select({ seq: erasureCertificates.seq, hash: erasureCertificates.hash })
      .from(erasureCertificates)
      .orderBy(desc(erasureCertificates.seq))
      .limit(1),
  )
  const jwk = await certificatePublicKey()
  const payload: CertificatePayload = {
    type: CERTIFICATE_TYPE,
    version: 1,
    seq: (head?.seq ?? 0) + 1,
    previous_hash: head?.hash ?? null,
    erasure_id: job.id,
    pseudonym: job.userHash,
    mode: job.mode,
    requested_at: toRfc3339(job.requestedAt),
    completed_at: toRfc3339(now),
    issued_at: toRfc3339(now),
    stripe_actions: job.stripeActions ?? [],
    counts: job.counts ?? {},
    verification: verificationForCertificate(verification),
    processors: processors.map((p) => ({
      endpoint_id: p.endpointId,
      status: p.status,
      acknowledged_at: toRfc3339(p.acknowledgedAt),
    })),
  }
  const signed = canonicalJson(payload)
  const envelope: CertificateEnvelope = {
    payload,
    signature: { alg: 'EdDSA', kid: jwk.kid, jwk: publicJwk(jwk), value: signCertificateBytes(signed) },
  }
  await exec(
    tx
      .insert(certificateKeys)
      .values({ kid: jwk.kid, jwk: publicJwk(jwk), createdAt: now })
      .onConflictDoNothing(),
  )
  await exec(
    tx.insert(erasureCertificates).values({
      seq: payload.seq,
      erasureId: job.id,
      userHash: job.userHash,
      hash: sha256Hex(signed),
      document: canonicalJson(envelope),
      createdAt: now,
    }),
  )
}

/** The public members of a JWK, and only those (what is signed over and published). */
const publicJwk = (jwk: Record<string, unknown>) => ({
  kty: String(jwk.kty),
  crv: String(jwk.crv),
  x: String(jwk.x),
})

export const verificationForCertificate = (v: ErasureVerification) => ({
  checked_at: toRfc3339(v.checkedAt),
  clean: v.clean,
  identifiers: v.identifiers,
  identifier_source: v.identifierSource,
  tables: v.tables,
  pages_scanned: v.pagesScanned,
  bytes_scanned: v.bytesScanned,
  byte_matches: v.byteMatches,
  storage_paths_checked: v.storagePathsChecked,
  storage_matches: v.storageMatches,
})

/** The certificate of an erasure, as served (exact bytes), or null. */
export function certificateOf(store: Store, erasureId: string): Promise<string | null> {
  return readTransaction(store, async (tx) => {
    const row = await one(
      tx
        .select({ document: erasureCertificates.document })
        .from(erasureCertificates)
        .where(eq(erasureCertificates.erasureId, erasureId)),
    )
    return row?.document ?? null
  })
}

/** The newest certificate of an account (by pseudonym), or null. */
export function latestCertificateOf(store: Store, userHash: string) {
  return readTransaction(store, (tx) =>
    one(
      tx
        .select({ erasureId: erasureCertificates.erasureId, document: erasureCertificates.document })
        .from(erasureCertificates)
        .where(eq(erasureCertificates.userHash, userHash))
        .orderBy(desc(erasureCertificates.seq))
        .limit(1),
    ),
  )
}

/** Certificates in chain order after `afterSeq` (for `--chain` directories). */
export function listCertificates(store: Store, afterSeq: number, limit: number) {
  return readTransaction(store, async (tx) => {
    const rows = await many(
      tx
        .select({
          seq: erasureCertificates.seq,
          erasureId: erasureCertificates.erasureId,
          document: erasureCertificates.document,
        })
        .from(erasureCertificates)
        .where(gt(erasureCertificates.seq, afterSeq))
        .orderBy(erasureCertificates.seq)
        .limit(limit + 1),
    )
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit }
  })
}

/** Every public key certificates were signed with, the current one included. */
export async function certificateJwks(store: Store) {
  const current = await certificatePublicKey()
  const rows = await readTransaction(store, (tx) => many(tx.select().from(certificateKeys)))
  const keys = new Map<string, Record<string, string>>()
  keys.set(current.kid, { ...publicJwk(current), kid: current.kid, alg: 'EdDSA', use: 'sig' })
  for (const row of rows)
    if (!keys.has(row.kid)) keys.set(row.kid, { ...row.jwk, kid: row.kid, alg: 'EdDSA', use: 'sig' })
  return { keys: [...keys.values()] }
}
