import { createHmac } from 'node:crypto'

/**
 * Standard Webhooks (standardwebhooks.com): `v1,` + base64 HMAC-SHA-256 of `id.timestamp.body`
 * under the secret's bytes (the base64 after `whsec_`). Several secrets (a rotation) give
 * several signatures, space-separated.
 */
export function signWebhook(secrets: string[], id: string, timestampSeconds: number, body: string): string {
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
      return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`
    })
    .join(' ')
}

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export const newWebhookSecret = () =>
  `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`
