import { and, count, desc, eq, gt, inArray, isNull, or, type SQL } from 'drizzle-orm'
import { exec, many, one } from '../../db/query'
import { lockAccount } from '../../db/row-locks'
import type { ApiKeyRow } from '../../db/rows'
import type { ApiKeyKind } from '../../db/schema'
import { readTransaction, type Store, type Tx, writeTransaction } from '../../db/store'
import { apiKeys } from '../../db/tables'
import { AppError } from '../errors'
import { type Clock, DAY } from '../lib/clock'
import { sha256Hex } from '../lib/crypto'
import { randomBase62, randomHex, uuidv7 } from '../lib/ids'
import { recordAudit } from './audit'
import { emitEvent } from './events'
import { lockLiveAccount } from './live-account'

export type { ApiKeyRow }

/** At most this many active (not retiring) keys per family (docs/spec/api-orbit.md, docs/spec/api-v1.md). */
export const MAX_ACTIVE_KEYS = 10
/** A rotated /v1 key keeps working this long. */
export const ROTATION_OVERLAP_MS = DAY

/** /api manages `ok_` keys; /v1 manages runtime keys and the operator-minted beta keys. */
export const ORBIT_FAMILY: ApiKeyKind[] = ['orbit']
export const V1_FAMILY: ApiKeyKind[] = ['runtime', 'operator']

export interface MintedKey {
  row: ApiKeyRow
  /** The only time the plaintext exists outside the caller's hands. */
  plaintext: string
}

function keyMaterial(kind: ApiKeyKind): { plaintext: string; prefix: string } {
  if (kind === 'orbit') {
    const id = randomBase62(8)
    return { plaintext: `ok_${id}_${randomBase62(24)}`, prefix: `ok_${id}` }
  }
  const hex = randomHex(16)
  const head = kind === 'operator' ? 'ns_live_beta_' : 'ns_live_'
  return { plaintext: `${head}${hex}`, prefix: `${head}${hex.slice(0, 8)}` }
}

/** The user's keys of a family that are active and not revoked (retiring ones included). */
const usableKeysOf = (userId: string, family: ApiKeyKind[]) => [
  eq(apiKeys.userId, userId),
  inArray(apiKeys.kind, family),
  eq(apiKeys.isActive, true),
  isNull(apiKeys.revokedAt),
]

/** Active and not retiring: what counts towards the limit. */
async function countActive(tx: Tx, userId: string, family: ApiKeyKind[]): Promise<number> {
  const row = await one(
    tx
      .select({ n: count() })
      .from(apiKeys)
      .where(and(...usableKeysOf(userId, family), isNull(apiKeys.expiresAt))),
  )
  return row?.n ?? 0
}

export interface NewKey {
  userId: string
  teamId: string
  kind: ApiKeyKind
  name: string | null
  scope: string | null
  /** Operator-minted keys are the operator's decision, not the user's quota. @default true */
  enforceLimit?: boolean
}

async function insertKey(
  tx: Tx,
  clock: Clock,
  input: NewKey & { rotationParentKeyId?: string },
): Promise<MintedKey> {
  const { plaintext, prefix } = keyMaterial(input.kind)
  const row = await one(
    tx
      .insert(apiKeys)
      .values({
        id: uuidv7(clock),
        userId: input.userId,
        teamId: input.teamId,
        kind: input.kind,
        keyPrefix: prefix,
        keyHash: sha256Hex(plaintext),
        name: input.name,
        scope: input.scope,
        isActive: true,
        createdAt: clock.now(),
        rotationParentKeyId: input.rotationParentKeyId ?? null,
      })
      .returning(),
  )
  return { row, plaintext }
}

export function createKey(store: Store, clock: Clock, input: NewKey): Promise<MintedKey> {
  const family = input.kind === 'orbit' ? ORBIT_FAMILY : V1_FAMILY
  return writeTransaction(store, async (tx) => {
    // The active-key count is the account's: one create at a time per account (db/row-locks.ts).
    await lockLiveAccount(tx, input.userId, 'update')
    if (input.enforceLimit !== false && (await countActive(tx, input.userId, family)) >= MAX_ACTIVE_KEYS)
      throw new AppError(
        'API_KEY_LIMIT_REACHED',
        `At most ${MAX_ACTIVE_KEYS} active API keys; revoke one first.`,
      )
    const minted = await insertKey(tx, clock, input)
    await recordAudit(tx, clock, input.userId, 'key.created', { keyId: minted.row.id, kind: input.kind })
    await emitEvent(tx, clock, 'api_key.created', input.userId, {
      user_id: input.userId,
      key_id: minted.row.id,
      kind: input.kind,
    })
    return minted
  })
}

/** The user's keys matching `where`, newest first. */
const keysNewestFirst = (store: Store, where: SQL | undefined): Promise<ApiKeyRow[]> =>
  readTransaction(store, (tx) =>
    many(tx.select().from(apiKeys).where(where).orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))),
  )

/** Keys that currently authenticate, newest first. */
export function listActiveKeys(
  store: Store,
  clock: Clock,
  userId: string,
  family: ApiKeyKind[],
): Promise<ApiKeyRow[]> {
  return keysNewestFirst(
    store,
    and(...usableKeysOf(userId, family), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, clock.now()))),
  )
}

/** Every key of a family, revoked and retiring ones included, newest first. */
export function listAllKeys(store: Store, userId: string, family: ApiKeyKind[]): Promise<ApiKeyRow[]> {
  return keysNewestFirst(store, and(eq(apiKeys.userId, userId), inArray(apiKeys.kind, family)))
}

async function findOwnKey(
  tx: Tx,
  userId: string,
  keyId: string,
  family: ApiKeyKind[],
): Promise<ApiKeyRow | undefined> {
  return await one(
    tx
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.id, keyId), eq(apiKeys.userId, userId), inArray(apiKeys.kind, family))),
  )
}

/**
 * Revokes a key: it fails on its next use. Another user's key is NOT_FOUND, never FORBIDDEN.
 * `/api` lists only active keys, so a key already revoked is NOT_FOUND there (`requireActive`);
 * `/v1` lists revoked keys too, and revoking one again is a no-op.
 */
export function revokeKey(
  store: Store,
  clock: Clock,
  userId: string,
  keyId: string,
  family: ApiKeyKind[],
  { requireActive }: { requireActive: boolean },
): Promise<void> {
  return writeTransaction(store, async (tx) => {
    await lockAccount(tx, userId)
    const key = await findOwnKey(tx, userId, keyId, family)
    const now = clock.now()
    const active = key?.isActive && key.revokedAt === null && (key.expiresAt === null || key.expiresAt > now)
    if (!key || (requireActive && !active)) throw new AppError('NOT_FOUND', 'No such API key.')
    if (key.revokedAt !== null) return
    await exec(
      tx
        .update(apiKeys)
        .set({ isActive: false, revokedAt: now, suspendedAt: null })
        .where(eq(apiKeys.id, key.id)),
    )
    await recordAudit(tx, clock, userId, 'key.revoked', { keyId: key.id, kind: key.kind })
    await emitEvent(tx, clock, 'api_key.revoked', userId, { user_id: userId, key_id: key.id, kind: key.kind })
  })
}

/**
 * Rotates a /v1 key: a replacement is minted and the old key keeps working for 24 hours.
 * Decision: rotating a revoked key or one already rotated is a `conflict` — there is exactly one
 * successor per key, so a client retry cannot leave two live replacements.
 */
export function rotateKey(
  store: Store,
  clock: Clock,
  userId: string,
  keyId: string,
  changes: { name?: string | null; scope?: string | null },
): Promise<MintedKey> {
  return writeTransaction(store, async (tx) => {
    // One successor per key: two rotations of it run one after the other (db/row-locks.ts).
    await lockLiveAccount(tx, userId, 'update')
    const old = await findOwnKey(tx, userId, keyId, V1_FAMILY)
    if (!old) throw new AppError('NOT_FOUND', 'No such API key.')
    if (!old.isActive || old.revokedAt !== null)
      throw new AppError('CONFLICT', 'This key is revoked and cannot be rotated.')
    if (old.expiresAt !== null) throw new AppError('CONFLICT', 'This key has already been rotated.')
    const now = clock.now()
    await exec(
      tx
        .update(apiKeys)
        .set({ expiresAt: now + ROTATION_OVERLAP_MS })
        .where(eq(apiKeys.id, old.id)),
    )
    const minted = await insertKey(tx, clock, {
      userId,
      teamId: old.teamId as string,
      kind: old.kind,
      name: changes.name !== undefined ? changes.name : old.name,
      scope: changes.scope !== undefined ? changes.scope : old.scope,
      rotationParentKeyId: old.id,
    })
    await recordAudit(tx, clock, userId, 'key.rotated', { keyId: old.id, replacementKeyId: minted.row.id })
    // The old key stops at expires_at (24 h), not now: it is announced as revoked then by nobody,
    // so the replacement's event says which key it replaces.
    await emitEvent(tx, clock, 'api_key.created', userId, {
      user_id: userId,
      key_id: minted.row.id,
      kind: old.kind,
      replaces_key_id: old.id,
    })
    return minted
  })
}
