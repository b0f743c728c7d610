/**
 * The one email rule of every path that takes an address (the CLI, POST /v1/admin/users, session
 * tokens' `email` claim, page contact fields' format): compared and stored in NFKC, lower case,
 * so a fullwidth or compatibility look-alike of an existing address is that address (and is
 * refused as taken). Internationalised addresses (RFC 6531) are allowed; control, format and
 * separator characters are not — among them the bidirectional controls (U+202A–U+202E,
 * U+2066–U+2069) and zero-width characters, which change what an address looks like. Look-alikes
 * across scripts (Cyrillic "а" for Latin "a") are not folded: that needs a confusables table.
 */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u
/** Controls, format characters (bidi, zero-width, BOM), separators and unassigned code points. */
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Z}]/u

export function normaliseEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase().normalize('NFKC')
}

/** Whether a normalised address is acceptable. */
export function isValidEmail(email: string): boolean {
  return email.length <= 254 && !FORBIDDEN.test(email) && EMAIL.test(email)
}

/** The TypeBox `email` format: the raw value is acceptable once normalised. */
export const isEmailFormat = (value: string) => isValidEmail(normaliseEmail(value))
