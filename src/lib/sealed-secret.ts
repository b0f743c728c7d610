import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { derivedServerSecret } from './pseudonym'

/**
 * Secrets the server must use again later (webhook signing secrets) are stored sealed: AES-256-GCM
 * under a key derived from the server key (pseudonym.key or PSEUDONYM_KEY), which never enters
 * the database. A copy of the database or a backup holds only ciphertext.
 */
const PREFIX = 'sealed2:'
const LABEL = 'webhook-secret-seal'

export function sealSecret(plain: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', derivedServerSecret(LABEL), iv)
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
  return `${PREFIX}${iv.toString('base64')}:${Buffer.concat([body, cipher.getAuthTag()]).toString('base64')}`
}

/**
 * Secrets opened recently, by their sealed text and the key that opened them: every delivery
 * signs, and an endpoint's secret changes only when rotated. Bounded.
 */
const opened = new Map<string, { key: Uint8Array; plain: string }>()

/** The secret, or null when it was sealed under another server key (or tampered with). */
export function openSecret(sealed: string): string | null {
  const key = derivedServerSecret(LABEL)
  const hit = opened.get(sealed)
  if (hit && hit.key === key) return hit.plain
  const plain = openUncached(sealed)
  if (plain !== null) {
    if (opened.size >= 1000) opened.clear()
    opened.set(sealed, { key, plain })
  }
  return plain
}

function openUncached(sealed: string): string | null {
  if (!sealed.startsWith(PREFIX)) return null
  const [iv, payload] = sealed.slice(PREFIX.length).split(':')
  if (!iv || !payload) return null
  try {
    const bytes = Buffer.from(payload, 'base64')
    const decipher = createDecipheriv('aes-256-gcm', derivedServerSecret(LABEL), Buffer.from(iv, 'base64'))
    decipher.setAuthTag(bytes.subarray(bytes.length - 16))
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString(
      'utf8',
    )
  } catch {
    return null
  }
}
