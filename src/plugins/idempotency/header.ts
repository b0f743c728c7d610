import { AppError } from '../../errors'

const invalid = (why: string) =>
  new AppError(
    'INVALID_IDEMPOTENCY_KEY',
    `Idempotency-Key ${why}: send one key of 1–255 printable ASCII characters.`,
  )

/**
 * The key from an `Idempotency-Key` header: a bare token or a quoted structured-field string
 * (`"abc"`, with `\"` and `\\` escapes). 1–255 printable ASCII characters.
 * Decision: a comma is refused — two Idempotency-Key headers arrive joined by ", ", and a key that
 * may be two keys is no key.
 */
export function parseIdempotencyKey(raw: string): string {
  let key = raw.trim()
  if (key.startsWith('"')) {
    const match = /^"((?:[^"\\]|\\["\\])*)"$/.exec(key)
    if (!match) throw invalid('is not a valid quoted string')
    key = (match[1] as string).replace(/\\(["\\])/g, '$1')
  }
  if (key.length === 0) throw invalid('is empty')
  if (key.length > 255) throw invalid('is longer than 255 characters')
  if (!/^[\x20-\x7e]+$/.test(key)) throw invalid('contains characters that are not printable ASCII')
  if (raw.includes(',')) throw invalid('was sent more than once (or contains a comma)')
  return key
}
