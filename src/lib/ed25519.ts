import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose'

// An Ed25519 private key is its 32-byte seed; PKCS#8 wraps it after this fixed prefix (RFC 8410).
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')

export interface Ed25519Key {
  seed: Uint8Array
  privateKey: KeyObject
  /** The public key as a JWK, its RFC 7638 thumbprint as `kid`. */
  jwk: Promise<JWK & { kid: string }>
}

/** The Ed25519 key whose seed is `seed` (32 bytes). */
export function ed25519FromSeed(seed: Uint8Array): Ed25519Key {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, seed]),
    format: 'der',
    type: 'pkcs8',
  })
  const jwk = (async () => {
    const pub = await exportJWK(createPublicKey(privateKey))
    return { ...pub, kid: await calculateJwkThumbprint(pub), alg: 'EdDSA', use: 'sig' }
  })()
  return { seed, privateKey, jwk }
}
