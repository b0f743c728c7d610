import { createPublicKey, verify } from 'node:crypto'
import { calculateJwkThumbprint } from 'jose'
import { canonicalJson } from '../lib/canonical-json'
import { sha256Hex } from '../lib/crypto'

/**
 * The erasure certificate's format and its offline check (`custodian verify-certificate`, and
 * the tests). A certificate file is the canonical JSON (keys sorted, no whitespace) of
 * `{payload, signature}`; the signature is Ed25519 over the payload's canonical JSON, and the
 * chain links each payload to the SHA-256 of the previous one's.
 */
export const CERTIFICATE_TYPE = 'custodian.erasure-certificate'

export interface CertificatePayload {
  type: typeof CERTIFICATE_TYPE
  version: 1
  seq: number
  previous_hash: string | null
  erasure_id: string
  pseudonym: string
  mode: string
  requested_at: string
  completed_at: string
  issued_at: string
  stripe_actions: string[]
  counts: Record<string, number>
  verification: {
    checked_at: string
    clean: boolean
    identifiers: number
    identifier_source: string
    tables: Record<string, number>
    pages_scanned: number
    bytes_scanned: number
    byte_matches: number
    storage_paths_checked: number
    storage_matches: number
  }
  processors: { endpoint_id: string; status: string; acknowledged_at: string | null }[]
}

export interface CertificateEnvelope {
  payload: CertificatePayload
  signature: { alg: 'EdDSA'; kid: string; jwk: { kty: string; crv: string; x: string }; value: string }
}

export interface CheckResult {
  ok: boolean
  /** Why it is invalid, or what was checked. */
  reasons: string[]
  payload?: CertificatePayload
  hash?: string
}

export interface CheckOptions {
  /** Trusted public keys (a JWKS); without them the key inside the certificate is used, unpinned. */
  jwks?: { keys: Record<string, unknown>[] }
  /** Other certificates of the chain (their file texts). */
  chain?: string[]
}

const fail = (reason: string): CheckResult => ({ ok: false, reasons: [reason] })

/** Parses a certificate file and checks its form, consistency and signature (not the chain). */
export async function checkCertificate(text: string, options: CheckOptions = {}): Promise<CheckResult> {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text
  let envelope: CertificateEnvelope
  try {
    envelope = JSON.parse(body)
  } catch {
    return fail('not JSON')
  }
  if (canonicalJson(envelope) !== body) return fail('not in canonical form (edited after signing?)')
  if (!isObject(envelope) || Object.keys(envelope).sort().join() !== 'payload,signature')
    return fail('not a certificate: expected exactly {payload, signature}')
  const { payload, signature } = envelope
  const problem = inconsistency(payload)
  if (problem) return fail(problem)
  if (!isObject(signature) || Object.keys(signature).sort().join() !== 'alg,jwk,kid,value')
    return fail('malformed signature block')
  if (signature.alg !== 'EdDSA') return fail(`unsupported algorithm ${String(signature.alg)}`)
  const jwk = signature.jwk
  if (!isObject(jwk) || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string')
    return fail('the signing key is not an Ed25519 JWK')
  if ((await calculateJwkThumbprint(jwk)) !== signature.kid) return fail('the key id does not match the key')
  if (options.jwks) {
    const trusted = options.jwks.keys.find((k) => k.kid === signature.kid)
    if (!trusted) return fail(`signed with key ${signature.kid}, which is not among the trusted keys`)
    if (trusted.x !== jwk.x) return fail('the key in the certificate differs from the trusted key of that id')
  }
  const value =
    typeof signature.value === 'string' ? Buffer.from(signature.value, 'base64url') : Buffer.alloc(0)
  if (value.length !== 64 || value.toString('base64url') !== signature.value)
    return fail('malformed signature')
  const signed = canonicalJson(payload)
  let valid = false
  try {
    valid = verify(null, Buffer.from(signed), createPublicKey({ key: jwk as never, format: 'jwk' }), value)
  } catch {
    valid = false
  }
  if (!valid) return fail('the signature does not match the payload')
  return {
    ok: true,
    reasons: [
      options.jwks
        ? `signature valid under trusted key ${signature.kid}`
        : `signature valid under the key in the certificate (${signature.kid}); pass a JWKS to pin it`,
    ],
    payload,
    hash: sha256Hex(signed),
  }
}

/** Checks the certificate, then its place in the chain formed with `options.chain`. */
export async function checkCertificateAndChain(
  text: string,
  options: CheckOptions = {},
): Promise<CheckResult> {
  const own = await checkCertificate(text, options)
  if (!own.ok || !options.chain || !own.payload) return own
  const bySeq = new Map<number, { payload: CertificatePayload; hash: string }>()
  for (const other of options.chain) {
    const checked = await checkCertificate(other, options)
    if (!checked.ok || !checked.payload || !checked.hash)
      return fail(`a certificate of the chain is invalid: ${checked.reasons.join('; ')}`)
    const seen = bySeq.get(checked.payload.seq)
    if (seen && seen.hash !== checked.hash)
      return fail(`two different certificates claim position ${checked.payload.seq}`)
    bySeq.set(checked.payload.seq, { payload: checked.payload, hash: checked.hash })
  }
  bySeq.set(own.payload.seq, { payload: own.payload, hash: own.hash as string })
  const first = Math.min(...bySeq.keys())
  const last = Math.max(...bySeq.keys())
  if (first !== 1) return fail(`the chain starts at ${first}: certificates 1–${first - 1} are missing`)
  for (let seq = 1; seq <= last; seq++) {
    const link = bySeq.get(seq)
    if (!link) return fail(`certificate ${seq} is missing from the chain (removed?)`)
    const expected = seq === 1 ? null : (bySeq.get(seq - 1)?.hash ?? null)
    if (link.payload.previous_hash !== expected)
      return fail(
        `certificate ${seq} does not follow certificate ${seq - 1} (one of them was edited or replaced)`,
      )
  }
  return { ...own, reasons: [...own.reasons, `chain of ${bySeq.size} intact from 1 to ${last}`] }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const isTime = (v: unknown) => typeof v === 'string' && !Number.isNaN(Date.parse(v))
const isCount = (v: unknown) => Number.isInteger(v) && (v as number) >= 0

/** Why the payload does not hold together, or null. */
function inconsistency(p: CertificatePayload): string | null {
  if (!isObject(p)) return 'the payload is not an object'
  if (p.type !== CERTIFICATE_TYPE || p.version !== 1) return 'not an erasure certificate of a known version'
  if (!isCount(p.seq) || p.seq < 1) return 'bad position in the chain'
  if ((p.seq === 1) !== (p.previous_hash === null))
    return 'the link to the previous certificate is inconsistent'
  if (p.previous_hash !== null && !/^[0-9a-f]{64}$/.test(String(p.previous_hash)))
    return 'malformed previous hash'
  if (typeof p.erasure_id !== 'string' || typeof p.pseudonym !== 'string')
    return 'missing erasure id or pseudonym'
  for (const field of ['requested_at', 'completed_at', 'issued_at'] as const)
    if (!isTime(p[field])) return `${field} is not a time`
  if (Date.parse(p.completed_at) < Date.parse(p.requested_at)) return 'completed before it was requested'
  if (Date.parse(p.issued_at) < Date.parse(p.completed_at)) return 'issued before the erasure completed'
  if (!Array.isArray(p.stripe_actions) || !p.stripe_actions.every((a) => typeof a === 'string'))
    return 'malformed Stripe steps'
  if (!isObject(p.counts) || !Object.values(p.counts).every(isCount)) return 'malformed counts'
  const v = p.verification
  if (!isObject(v)) return 'no verification'
  if (!isObject(v.tables) || !Object.values(v.tables).every(isCount)) return 'malformed verification tables'
  const leftovers = Object.values(v.tables).reduce((a, b) => a + b, 0)
  if (v.clean !== true || leftovers !== 0 || v.byte_matches !== 0 || v.storage_matches !== 0)
    return 'the verification did not find the account gone'
  if (Date.parse(v.checked_at) > Date.parse(p.completed_at)) return 'verified after completion'
  if (!Array.isArray(p.processors)) return 'malformed processors'
  return null
}
