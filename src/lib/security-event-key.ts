import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, type JWK, SignJWT } from 'jose'
import { derivedServerSecret } from './pseudonym'

/**
 * The Ed25519 key that signs Security Event Tokens (RFC 8417), derived from the server key: every
 * instance sharing PSEUDONYM_KEY (or pseudonym.key) signs with the same key and publishes the same
 * JWKS, and nothing new has to be backed up.
 */
const LABEL = 'security-event-signing'
// An Ed25519 private key is its 32-byte seed; PKCS#8 wraps it after this fixed prefix (RFC 8410).
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')

let current: { seed: Uint8Array; privateKey: KeyObject; jwk: Promise<JWK & { kid: string }> } | null = null

function signingKey() {
  const seed = derivedServerSecret(LABEL)
  if (current?.seed !== seed) {
    const privateKey = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519, seed]),
      format: 'der',
      type: 'pkcs8',
    })
    const jwk = (async () => {
      const pub = await exportJWK(createPublicKey(privateKey))
      return { ...pub, kid: await calculateJwkThumbprint(pub), alg: 'EdDSA', use: 'sig' }
    })()
    current = { seed, privateKey, jwk }
  }
  return current
}

/** The public keys receivers verify Security Event Tokens with (GET /.well-known/custodian/security-event-keys). */
export async function securityEventJwks(): Promise<{ keys: JWK[] }> {
  return { keys: [await signingKey().jwk] }
}

/** A signed SET: `typ: secevent+jwt`, EdDSA, the key's thumbprint as `kid`. */
export async function signSecurityEvent(claims: Record<string, unknown>): Promise<string> {
  const key = signingKey()
  const { kid } = await key.jwk
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', typ: 'secevent+jwt', kid })
    .sign(key.privateKey)
}
