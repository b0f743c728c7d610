import { dirname, join } from 'node:path'
import { isMemoryPath } from '../../db/store'
import { sha256Hex } from './crypto'
import { readOrCreateSecretFile } from './secret-file'

/**
 * Keyed pseudonyms of user ids for logs, audit rows, receipts and the erasure ledger. An unkeyed
 * hash could be recomputed by anyone who knows a user id (and so find that user's log lines):
 * these are HMAC-SHA-256 with a server secret that is never stored in the database, so neither
 * the database, a backup nor a log file is enough to link a pseudonym to a user.
 *
 * The key is process-wide (every call site — audit rows inside transactions, the log line — uses
 * it without threading it through): `usePseudonymKey` is called once by buildDeps. Before that
 * (tests, tools), a random per-process key is used.
 */
let currentKey: Uint8Array = crypto.getRandomValues(new Uint8Array(32))

/** The file beside the database that holds the key when PSEUDONYM_KEY is not configured. */
export const pseudonymKeyPath = (databasePath: string) => join(dirname(databasePath), 'pseudonym.key')

/**
 * The key from configuration, else from `pseudonym.key` beside the database, generated (0600) on
 * first start. A `:memory:` database gets the process's random key.
 * IMPORTANT: back this file up with the database (docs/operations.md, "Restores never resurrect nor lose"): without it, restored
 * receipts can no longer be matched to the accounts they erased.
 */
export function loadPseudonymKey(databasePath: string, configured: string | null): Uint8Array {
  if (configured) return new TextEncoder().encode(configured)
  if (isMemoryPath(databasePath)) return currentKey
  return new TextEncoder().encode(readOrCreateSecretFile(pseudonymKeyPath(databasePath)))
}

export function usePseudonymKey(key: Uint8Array) {
  currentKey = key
  derivedSecrets.clear()
  recentHashes.clear()
  recentPartitions.clear()
}

/**
 * Pseudonyms of recently seen users: every request's log line carries one, and an HMAC costs
 * more than the rest of the line. Bounded; cleared when the key changes.
 */
const recentHashes = new Map<string, string>()
const recentPartitions = new Map<string, string>()
const RECENT_HASHES_MAX = 10_000

/** The pseudonymous user id kept in receipts, audit events and log lines. */
export function hashUserId(userId: string): string {
  return keyedHash(recentHashes, `custodian:user:${userId}`, userId, 'hex')
}

/** HMAC-SHA-256 of `text` under the current key, remembered under `cacheKey` (bounded). */
function keyedHash(
  cache: Map<string, string>,
  text: string,
  cacheKey: string,
  encoding: 'hex' | 'base64url',
) {
  let hash = cache.get(cacheKey)
  if (hash === undefined) {
    hash = new Bun.CryptoHasher('sha256', currentKey).update(text).digest(encoding)
    if (cache.size >= RECENT_HASHES_MAX) cache.delete(cache.keys().next().value as string)
    cache.set(cacheKey, hash)
  }
  return hash
}

/**
 * The unkeyed hash receipts carried before pseudonyms were keyed. Used only to recognise those old
 * receipts (a session token of an account erased back then stays refused); never written.
 */
export function legacyHashUserId(userId: string): string {
  return sha256Hex(`custodian:user:${userId}`)
}

/**
 * The keyed pseudonym of a rate-limit partition (`user:<id>`, `ip:<address>`): what Redis stores
 * instead of the user id or client address. Cached like hashUserId (every request names one).
 */
export function pseudonymOfPartition(partition: string): string {
  return keyedHash(recentPartitions, `custodian:rate-limit:${partition}`, partition, 'base64url').slice(0, 32)
}

/**
 * A secret derived from the server key for one purpose (`label`): sealing webhook secrets,
 * erasure acknowledgement tokens. Like the pseudonyms, never stored in the database.
 */
export function derivedServerSecret(label: string): Uint8Array {
  let secret = derivedSecrets.get(label)
  if (!secret) {
    secret = new Uint8Array(
      new Bun.CryptoHasher('sha256', currentKey).update(`custodian:derived:${label}`).digest(),
    )
    derivedSecrets.set(label, secret)
  }
  return secret
}

/** A few labels, each derived once per key (a delivery signs with an opened secret: no HMAC per use). */
const derivedSecrets = new Map<string, Uint8Array>()
