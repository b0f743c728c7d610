import { timingSafeEqual } from 'node:crypto'
import { derivedServerSecret } from './pseudonym'

/**
 * Capability tokens for links that work without a credential (an erased user's certificate, an
 * export archive): `<subject>.<expiry>.<MAC>`, the MAC (HMAC-SHA-256) under a secret derived from
 * the server key for `purpose`. Nothing is stored; a link for one purpose is worthless for another.
 */

/** The MAC of `body` for `purpose`, base64url (also the console's CSRF tokens and signed notices). */
export const mac = (purpose: string, body: string) =>
  new Bun.CryptoHasher('sha256', derivedServerSecret(purpose)).update(body).digest('base64url')

export function signLink(purpose: string, subject: string, expiresAt: number): string {
  const body = `${subject}.${Math.floor(expiresAt / 1000).toString(36)}`
  return `${body}.${mac(purpose, body)}`
}

/**
 * The subject a token names; 'expired'; or null when it is not ours (tampered, made up, of another
 * purpose, or its subject is not of the `subject` shape).
 */
export function openSignedLink(
  purpose: string,
  token: string,
  subject: RegExp,
  now: number,
): { subject: string } | 'expired' | null {
  const match = /^([^.]+)\.([0-9a-z]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token)
  if (!match) return null
  const [, named, expiry, given] = match as unknown as [string, string, string, string]
  if (!subject.test(named)) return null
  const expected = Buffer.from(mac(purpose, `${named}.${expiry}`))
  const presented = Buffer.from(given)
  if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) return null
  if (Number.parseInt(expiry, 36) * 1000 <= now) return 'expired'
  return { subject: named }
}
