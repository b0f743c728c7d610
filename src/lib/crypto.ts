import { timingSafeEqual } from 'node:crypto'

export function sha256Hex(input: string | Uint8Array | ArrayBuffer): string {
  const hasher = new Bun.CryptoHasher('sha256')
  hasher.update(input)
  return hasher.digest('hex')
}

/** Constant-time comparison of two hex digests (false when lengths differ). */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  return timingSafeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/**
 * The pseudonymous user id kept in receipts and audit events. Never an email or a name; once the
 * user row is erased nothing in the database maps it back.
 */
export function hashUserId(userId: string): string {
  return sha256Hex(`custodian:user:${userId}`)
}
