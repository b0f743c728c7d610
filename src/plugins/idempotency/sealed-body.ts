import { sha256Hex } from '../../lib/crypto'

/**
 * Stored replays of answers that carry a one-time secret (a freshly minted key) are sealed:
 * AES-256-GCM under a key derived from the request's credential and Idempotency-Key, neither of
 * which the server stores. The database and its backups hold only ciphertext; a replay is opened
 * only for the same credential that made the request (a tag — a different hash of the
 * credential — tells which one, without revealing the sealing key).
 */
const PREFIX = 'sealed1:'

const sealingKey = (credential: string, idempotencyKey: string) =>
  crypto.subtle.importKey(
    'raw',
    new Uint8Array(
      new Bun.CryptoHasher('sha256')
        .update(`custodian:idempotency-seal\n${credential}\n${idempotencyKey}`)
        .digest(),
    ),
    'AES-GCM',
    false,
    ['encrypt', 'decrypt'],
  )

const credentialTag = (credential: string, idempotencyKey: string) =>
  sha256Hex(`custodian:idempotency-owner\n${credential}\n${idempotencyKey}`)

export const isSealed = (body: string | null) => body?.startsWith(PREFIX) === true

export async function sealBody(body: string, credential: string, idempotencyKey: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const key = await sealingKey(credential, idempotencyKey)
  const cipher = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, new TextEncoder().encode(body))
  const b64 = (bytes: ArrayBuffer | Uint8Array) => Buffer.from(bytes as Uint8Array).toString('base64')
  return `${PREFIX}${credentialTag(credential, idempotencyKey)}:${b64(iv)}:${b64(cipher)}`
}

/** The stored answer, or null when this credential is not the one that made the request. */
export async function openBody(
  sealed: string,
  credential: string,
  idempotencyKey: string,
): Promise<string | null> {
  const [tag, iv, cipher] = sealed.slice(PREFIX.length).split(':')
  if (!tag || !iv || !cipher || tag !== credentialTag(credential, idempotencyKey)) return null
  try {
    const key = await sealingKey(credential, idempotencyKey)
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: new Uint8Array(Buffer.from(iv, 'base64')) },
      key,
      new Uint8Array(Buffer.from(cipher, 'base64')),
    )
    return new TextDecoder().decode(plain)
  } catch {
    return null
  }
}
