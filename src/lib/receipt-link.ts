import { timingSafeEqual } from 'node:crypto'
import { DAY } from './clock'
import { derivedServerSecret, hashUserId } from './pseudonym'

/**
 * The erased user's capability link to their erasure certificate, given when the erasure is
 * requested (`Erasure-Receipt` on /api, `receipt_url` on /v1): `<pseudonym>.<expiry>.<MAC>`, the
 * MAC under a secret derived from the server key. Nothing is stored: the link names the
 * pseudonym the certificate carries, and works without an account (the account is gone) for a year.
 */
export const RECEIPT_LINK_TTL_MS = 365 * DAY
const LABEL = 'erasure-receipt-link'
const SHAPE = /^([0-9a-f]{64})\.([0-9a-z]{1,12})\.([A-Za-z0-9_-]{43})$/

const mac = (body: string) =>
  new Bun.CryptoHasher('sha256', derivedServerSecret(LABEL)).update(body).digest('base64url')

export function receiptLinkToken(userHash: string, expiresAt: number): string {
  const body = `${userHash}.${Math.floor(expiresAt / 1000).toString(36)}`
  return `${body}.${mac(body)}`
}

/** The link of a user's erasure, valid a year from `now`. */
export const receiptUrl = (publicUrl: string, userId: string, now: number) =>
  `${publicUrl}/v1/erasure-receipts/${receiptLinkToken(hashUserId(userId), now + RECEIPT_LINK_TTL_MS)}`

/** The pseudonym a link names; 'expired'; or null when it is not one of ours (tampered, made up). */
export function openReceiptLink(token: string, now: number): { userHash: string } | 'expired' | null {
  const match = SHAPE.exec(token)
  if (!match) return null
  const [, userHash, expiry, given] = match as unknown as [string, string, string, string]
  const expected = Buffer.from(mac(`${userHash}.${expiry}`))
  const presented = Buffer.from(given)
  if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) return null
  if (Number.parseInt(expiry, 36) * 1000 <= now) return 'expired'
  return { userHash }
}
