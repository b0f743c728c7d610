import { AppError } from '../errors'

/**
 * Opaque paging cursors: base64url JSON of the last row's sort key. Opaque so the sort key can
 * change without breaking clients; validated so a forged token is a clean 400, never a 500.
 */
export function encodePageToken(cursor: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url')
}

export function decodePageToken<K extends string>(
  token: string,
  keys: Record<K, 'string' | 'number'>,
): Record<K, string & number> {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>
    for (const [key, type] of Object.entries(keys)) if (typeof parsed[key] !== type) throw new Error('shape')
    return parsed as Record<K, string & number>
  } catch {
    throw new AppError('INVALID_REQUEST', 'next_token is not a token this server issued.')
  }
}
