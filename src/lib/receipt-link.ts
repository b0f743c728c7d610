import { DAY } from './clock'
import { hashUserId } from './pseudonym'
import { openSignedLink, signLink } from './signed-link'

/**
 * The erased user's capability link to their erasure certificate, given when the erasure is
 * requested (`Erasure-Receipt` on /api, `receipt_url` on /v1). It names the pseudonym the
 * certificate carries and works without an account (the account is gone) for a year.
 */
export const RECEIPT_LINK_TTL_MS = 365 * DAY
const PURPOSE = 'erasure-receipt-link'

/** The link of a user's erasure, valid a year from `now`. */
export const receiptUrl = (publicUrl: string, userId: string, now: number) =>
  `${publicUrl}/v1/erasure-receipts/${signLink(PURPOSE, hashUserId(userId), now + RECEIPT_LINK_TTL_MS)}`

/** The pseudonym a link names; 'expired'; or null when it is not one of ours (tampered, made up). */
export function openReceiptLink(token: string, now: number): { userHash: string } | 'expired' | null {
  const opened = openSignedLink(PURPOSE, token, /^[0-9a-f]{64}$/, now)
  return opened === null || opened === 'expired' ? opened : { userHash: opened.subject }
}
