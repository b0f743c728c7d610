import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose'
import { EpochCache, EpochTopic } from '../../db/change-epochs'
import type { ApiKeyKind } from '../../db/schema'
import { readTransaction, type Store, statementsFor, type Tx, writeTransaction } from '../../db/store'
import type { Config } from '../config'
import { AppError } from '../errors'
import { type Clock, MINUTE } from '../lib/clock'
import { digestsEqual, sha256Hex } from '../lib/crypto'
import type { Logger } from '../lib/logger'
import { andThen } from '../lib/maybe-async'
import { hashUserId, legacyHashUserId } from '../lib/pseudonym'
import { createUserWithTeam, isValidEmail, normaliseEmail } from './accounts'

export type CredentialKind = 'session' | ApiKeyKind

/** Who is calling, once a credential has been verified. */
export interface Principal {
  userId: string
  teamId: string
  credential: CredentialKind
  /** The API key used, when the credential is a key. */
  keyId: string | null
  isOperator: boolean
  emailVerified: boolean
  /** The session token's `email` claim (null for keys). */
  sessionEmail: string | null
  softDeleted: boolean
}

export type Credential =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'missing' | 'malformed' | 'invalid' | 'no_session_verifier' }

const ORBIT_KEY = /^ok_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}$/
const OPERATOR_KEY = /^ns_live_beta_[0-9a-f]{32}$/
const RUNTIME_KEY = /^ns_live_[0-9a-f]{32}$/
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Which key kind a presented key claims to be, from its shape alone. */
export function keyKindOf(token: string): ApiKeyKind | null {
  if (ORBIT_KEY.test(token)) return 'orbit'
  if (OPERATOR_KEY.test(token)) return 'operator'
  if (RUNTIME_KEY.test(token)) return 'runtime'
  return null
}

interface KeyAuthRow {
  key_id: string
  user_id: string
  kind: ApiKeyKind
  key_hash: string
  is_active: number
  revoked_at: number | null
  expires_at: number | null
  last_used_at: number | null
  team_id: string | null
  suspended_at: number | null
}

interface UserAuthRow {
  id: string
  email: string
  is_operator: number
  email_verified_at: number | null
  soft_deleted_at: number | null
  erasure_requested_at: number | null
  team_id: string | null
}

export interface CredentialVerifierDeps {
  store: Store
  clock: Clock
  config: Config
  logger: Logger
}

// Two single-table lookups: measured at ~1 µs each, where the same data through one JOIN
// cost ~5 µs (this runs on every key-authenticated request whose key is not cached).
const statements = statementsFor((db) => ({
  keyLookup: db.prepare<KeyAuthRow, [string]>(
    `SELECT id AS key_id, user_id, kind, key_hash, is_active, revoked_at, expires_at, last_used_at, team_id, suspended_at
       FROM api_keys WHERE key_hash = ?`,
  ),
  touchKey: db.prepare<unknown, [number, string]>('UPDATE api_keys SET last_used_at = ? WHERE id = ?'),
  // `+?`: a bare parameter beside an ORDER BY makes SQLite re-prepare on every run (db/sqlite/stable-plans.ts).
  userLookup: db.prepare<UserAuthRow, [string]>(
    `SELECT u.id, u.email, u.is_operator, u.email_verified_at, u.soft_deleted_at, u.erasure_requested_at,
            (SELECT t.id FROM teams t WHERE t.owner_user_id = u.id ORDER BY t.created_at LIMIT 1) AS team_id
       FROM users u WHERE u.id = +?`,
  ),
  erasedAfter: db.prepare<{ requested_at: number }, [string]>(
    'SELECT requested_at FROM account_deletions WHERE user_hash = +? ORDER BY requested_at DESC LIMIT 1',
  ),
  markVerified: db.prepare<unknown, [number, number, string]>(
    'UPDATE users SET email_verified_at = ?, updated_at = ? WHERE id = ? AND email_verified_at IS NULL',
  ),
}))

/** Records that a key was used (at most once a minute per key: it is a write). */
const touchKey = (store: Store, keyId: string, now: number) =>
  writeTransaction(store, (tx) => statements(tx).touchKey.run(now, keyId))

const userOf = async (tx: Tx, userId: string) => (await statements(tx).userLookup.get(userId)) ?? undefined

const INVALID: Credential = { ok: false, reason: 'invalid' }
const MALFORMED: Credential = { ok: false, reason: 'malformed' }

/**
 * Verifies bearer credentials (docs/spec/traffic.md §1). Knows nothing of HTTP: it takes the token string.
 * Messages never say whether a key exists: every failure is the same `invalid`.
 */
export function createCredentialVerifier({ store, clock, config, logger }: CredentialVerifierDeps) {
  const hmacKey = config.auth.jwtSecret ? new TextEncoder().encode(config.auth.jwtSecret) : null
  const verifiedTokens = new VerifiedTokenCache()
  const jwks: JWTVerifyGetKey | null = config.auth.jwksUrl
    ? createRemoteJWKSet(new URL(config.auth.jwksUrl))
    : null

  // API keys verified under the credentials epoch, by SHA-256 of the key: the two lookups they
  // replace were the largest share of an authenticated request. Revocation, soft delete,
  // restore, erasure, purge and email verification move the epoch in the transaction that makes
  // them — in this process or another on the same database — so the next request reads the rows
  // again; expiry (rotation) is re-checked on every use. Only successes are kept. Keyed by a
  // digest of the presented key, so a lookup's timing says nothing about stored keys.
  const keyCache = new EpochCache<CachedKey>(store.epochs, EpochTopic.credentials)
  // Session users the same way, by user id: the row every session request read (a read
  // transaction of its own) goes with the same epoch when the user is soft-deleted, restored,
  // erased, purged, verified, made operator or given another email. Only live users are kept.
  const sessionUsers = new EpochCache<UserAuthRow>(store.epochs, EpochTopic.credentials)

  /** Synchronous on a cache hit (the hot path); reads or writes the store otherwise. */
  function verifyKey(token: string, kind: ApiKeyKind): Credential | Promise<Credential> {
    const digest = sha256Hex(token)
    // Read before the rows: a change committed after this point moves the epoch past it.
    return andThen(keyCache.freshEpoch(), (epoch) => verifyKeyAt(digest, kind, epoch))
  }

  function verifyKeyAt(
    digest: string,
    kind: ApiKeyKind,
    epoch: number | null,
  ): Credential | Promise<Credential> {
    const now = clock.now()
    const cached = keyCache.get(digest, epoch)
    if (cached && cached.principal.credential === kind) {
      if (cached.expiresAt !== null && cached.expiresAt <= now) return INVALID
      if (cached.lastUsedAt === null || cached.lastUsedAt <= now - MINUTE) {
        cached.lastUsedAt = now
        return touchKey(store, cached.principal.keyId as string, now).then(() => cached.credential)
      }
      return cached.credential
    }
    return verifyKeyFromRows(digest, kind, now, epoch)
  }

  async function verifyKeyFromRows(
    digest: string,
    kind: ApiKeyKind,
    now: number,
    epoch: number | null,
  ): Promise<Credential> {
    const rows = await readTransaction(store, async (tx) => {
      const key = await statements(tx).keyLookup.get(digest)
      return { key, user: key ? await userOf(tx, key.user_id) : undefined }
    })
    const { key, user } = rows
    // The index finds the row; the digests are still compared in constant time.
    if (!key || !digestsEqual(key.key_hash, digest) || key.kind !== kind) return INVALID
    if (key.revoked_at !== null) return INVALID
    if (key.expires_at !== null && key.expires_at <= now) return INVALID
    // Keys of an erased owner stop working at once (docs/spec/traffic.md §1): 401.
    if (!user || user.erasure_requested_at !== null) return INVALID
    // A soft-deleted owner's keys are suspended: while the account can still be restored they
    // answer 403 account_deleted, as session tokens do (docs/spec/data-rights.md), not 401.
    const suspended = !key.is_active && key.suspended_at !== null && user.soft_deleted_at !== null
    if (!key.is_active && !suspended) return INVALID
    const teamId = key.team_id ?? user.team_id
    if (!teamId) return INVALID
    if (key.last_used_at === null || key.last_used_at <= now - MINUTE) await touchKey(store, key.key_id, now)
    const credential: Credential = {
      ok: true,
      principal: Object.freeze({
        userId: user.id,
        teamId,
        credential: kind,
        keyId: key.key_id,
        isOperator: false,
        emailVerified: user.email_verified_at !== null,
        sessionEmail: null,
        softDeleted: user.soft_deleted_at !== null,
      }),
    }
    keyCache.set(digest, epoch, {
      credential,
      principal: credential.principal,
      expiresAt: key.expires_at,
      lastUsedAt: Math.max(now, key.last_used_at ?? 0),
    })
    return credential
  }

  async function verifySession(token: string): Promise<Credential> {
    const now = clock.now()
    let payload = verifiedTokens.get(token, now)
    if (!payload) {
      try {
        const { alg } = decodeProtectedHeader(token)
        const common = {
          audience: config.auth.audience,
          currentDate: new Date(now),
          requiredClaims: ['sub', 'exp'],
          // AUTH_JWT_ISSUER: checked when set (Supabase: https://<project>.supabase.co/auth/v1).
          ...(config.auth.issuer ? { issuer: config.auth.issuer } : {}),
        }
        // Algorithms are pinned per key source: an HS256 token is only checked against the shared
        // secret, an RS256/ES256 one only against the JWKS, so `none` and key confusion fail.
        if (alg === 'HS256' && hmacKey)
          payload = (await jwtVerify(token, hmacKey, { ...common, algorithms: ['HS256'] })).payload
        else if ((alg === 'RS256' || alg === 'ES256') && jwks)
          payload = (await jwtVerify(token, jwks, { ...common, algorithms: ['RS256', 'ES256'] })).payload
        else return INVALID
      } catch {
        return INVALID
      }
      verifiedTokens.set(token, payload)
    }
    const sub = payload.sub
    if (typeof sub !== 'string' || !UUID.test(sub)) return INVALID
    const userId = sub.toLowerCase()
    const claimEmail = typeof payload.email === 'string' ? normaliseEmail(payload.email) : null
    const claimVerified = emailVerifiedClaim(payload)

    // Read before the rows: a change committed after this point moves the epoch past it.
    const epoch = await sessionUsers.freshEpoch()
    const cachedUser = sessionUsers.get(userId, epoch)
    const found = cachedUser
      ? { user: cachedUser, erased: null }
      : await readTransaction(store, async (tx) => {
          const user = await userOf(tx, userId)
          if (user) return { user, erased: null }
          // IMPORTANT: a token issued before this subject's account was erased must never
          // re-create it (docs/spec/data-rights.md: "refused even before it expires").
          // Receipts written before pseudonyms were keyed carry the unkeyed hash: look for both.
          const { erasedAfter } = statements(tx)
          const erased =
            (await erasedAfter.get(hashUserId(userId))) ?? (await erasedAfter.get(legacyHashUserId(userId)))
          return { user, erased }
        })
    let user: UserAuthRow | undefined = found.user
    if (!user) {
      const erased = found.erased
      const issuedAt = typeof payload.iat === 'number' ? payload.iat * 1000 : null
      if (erased && (issuedAt === null || issuedAt <= erased.requested_at)) return INVALID
      if (!claimEmail || !isValidEmail(claimEmail)) return INVALID
      user = await provision(userId, claimEmail, claimVerified)
      if (!user) return INVALID
    }
    if (user.erasure_requested_at !== null || !user.team_id) return INVALID
    if (user === found.user && !cachedUser) sessionUsers.set(userId, epoch, user)
    // A verified claim counts only for the address it names: the stored one.
    if (claimVerified && user.email_verified_at === null && claimEmail === normaliseEmail(user.email)) {
      const now = clock.now()
      const id = user.id
      // In a write transaction, like every write a change epoch watches: cached keys of this
      // user carry the old answer and go when it commits.
      await writeTransaction(store, (tx) => statements(tx).markVerified.run(now, now, id))
      user = { ...user, email_verified_at: now }
    }
    return {
      ok: true,
      principal: {
        userId: user.id,
        teamId: user.team_id as string,
        credential: 'session',
        keyId: null,
        isOperator: user.is_operator === 1,
        emailVerified: user.email_verified_at !== null,
        sessionEmail: claimEmail,
        softDeleted: user.soft_deleted_at !== null,
      },
    }
  }

  /** Just-in-time provisioning of a session user and its personal team. */
  async function provision(
    userId: string,
    email: string,
    verified: boolean,
  ): Promise<UserAuthRow | undefined> {
    try {
      // Read back in the same transaction: the row as the lookup shapes it, team included.
      const user = await writeTransaction(store, async (tx) => {
        await createUserWithTeam(tx, clock, { id: userId, email, emailVerified: verified })
        return userOf(tx, userId)
      })
      logger.info('user provisioned from session token', { userHash: hashUserId(userId) })
      return user
    } catch (error) {
      // The email belongs to another account: never link identities by email alone.
      if (error instanceof AppError) return undefined
      throw error
    }
  }

  return {
    /** Synchronous for a cached API key (the hot path: no promise to settle); otherwise a promise. */
    verify(token: string): Credential | Promise<Credential> {
      const kind = keyKindOf(token)
      if (kind) return verifyKey(token, kind)
      if (JWT_SHAPE.test(token))
        // A session token shown to a server that cannot verify any deserves its own answer.
        return hmacKey || jwks ? verifySession(token) : { ok: false, reason: 'no_session_verifier' }
      return MALFORMED
    },
  }
}

export type CredentialVerifier = ReturnType<typeof createCredentialVerifier>

interface CachedKey {
  credential: Credential & { ok: true }
  principal: Principal
  expiresAt: number | null
  lastUsedAt: number | null
}

/**
 * Tokens whose signature, audience and algorithm jose has already verified. jose costs ~70 µs per
 * verification under Bun (WebCrypto), and clients reuse one token for many requests. Only
 * successes are kept (a flood of forged tokens cannot fill it); `exp` and `nbf` are re-checked on
 * every use; the size is bounded (oldest entries go first). The user row is cached apart, under the
 * credentials epoch, so an erased user's cached token is refused on the very next request.
 */
class VerifiedTokenCache {
  private readonly entries = new Map<string, JWTPayload>()
  constructor(private readonly max = 10_000) {}

  get(token: string, now: number): JWTPayload | undefined {
    const payload = this.entries.get(token)
    if (!payload) return undefined
    if (
      typeof payload.exp !== 'number' ||
      payload.exp * 1000 <= now ||
      (typeof payload.nbf === 'number' && payload.nbf * 1000 > now)
    ) {
      this.entries.delete(token)
      return undefined
    }
    return payload
  }

  set(token: string, payload: JWTPayload) {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string)
    this.entries.set(token, payload)
  }
}

function emailVerifiedClaim(payload: JWTPayload): boolean {
  if (payload.email_verified === true) return true
  const meta = payload.user_metadata
  return (
    typeof meta === 'object' && meta !== null && (meta as Record<string, unknown>).email_verified === true
  )
}
