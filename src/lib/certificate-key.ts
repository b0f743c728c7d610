import { sign } from 'node:crypto'
import { dirname, join } from 'node:path'
import { isMemoryPath } from '../../db/store'
import { type Ed25519Key, ed25519FromSeed } from './ed25519'
import { derivedServerSecret } from './pseudonym'
import { readOrCreateSecretFile } from './secret-file'

/**
 * The Ed25519 key erasure certificates are signed with: CERTIFICATE_SIGNING_KEY (64 hex digits,
 * its seed), else `certificate.key` beside a SQLite database (generated, 0600, on first start).
 * Where there is neither (PostgreSQL without the setting, an in-memory database) it is derived
 * from the server key, which every instance shares. Rotating = configuring another: the public
 * keys of earlier ones stay in `certificate_keys`, so their certificates still verify.
 */
export const certificateKeyPath = (databasePath: string) => join(dirname(databasePath), 'certificate.key')

const SEED_HEX = /^[0-9a-fA-F]{64}$/

/** The configured or stored seed; null: derive it from the server key. */
export function loadCertificateSeed(databasePath: string, configured: string | null): Uint8Array | null {
  if (configured) return parseSeed(configured, 'CERTIFICATE_SIGNING_KEY')
  if (isMemoryPath(databasePath) || /^postgres(ql)?:/.test(databasePath)) return null
  const path = certificateKeyPath(databasePath)
  return parseSeed(readOrCreateSecretFile(path), path)
}

function parseSeed(text: string, where: string): Uint8Array {
  if (!SEED_HEX.test(text)) throw new Error(`${where} must hold 64 hexadecimal digits (an Ed25519 seed)`)
  return new Uint8Array(Buffer.from(text, 'hex'))
}

let configuredSeed: Uint8Array | null = null
let current: Ed25519Key | null = null

export function useCertificateSeed(seed: Uint8Array | null) {
  configuredSeed = seed
  current = null
}

function signingKey(): Ed25519Key {
  const seed = configuredSeed ?? derivedServerSecret('erasure-certificate-signing')
  if (current?.seed !== seed) current = ed25519FromSeed(seed)
  return current
}

/** The current key's public JWK (with `kid`). */
export const certificatePublicKey = () => signingKey().jwk

/** An Ed25519 signature of `bytes` under the current key, base64url. */
export function signCertificateBytes(bytes: string): string {
  return sign(null, Buffer.from(bytes), signingKey().privateKey).toString('base64url')
}
