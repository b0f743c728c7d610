import { type JWK, SignJWT } from 'jose'
import { type Ed25519Key, ed25519FromSeed } from './ed25519'
import { derivedServerSecret } from './pseudonym'

/**
 * The Ed25519 key that signs Security Event Tokens (RFC 8417), derived from the server key: every
 * instance sharing PSEUDONYM_KEY (or pseudonym.key) signs with the same key and publishes the same
 * JWKS, and nothing new has to be backed up.
 */
const LABEL = 'security-event-signing'

let current: Ed25519Key | null = null

function signingKey() {
  const seed = derivedServerSecret(LABEL)
  if (current?.seed !== seed) current = ed25519FromSeed(seed)
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
