import { and, eq, lte, sql } from 'drizzle-orm'
import { exec, one } from '../../db/query'
import type { SqlWords } from '../../db/raw'
import { lockAccount } from '../../db/row-locks'
import {
  preparedFor,
  type Store,
  statementFor,
  statementsFor,
  type Tx,
  writeTransaction,
} from '../../db/store'
import { idempotencyKeys } from '../../db/tables'
import { type Clock, DAY, SECOND } from '../lib/clock'

/** Stored outcomes are replayed for 24 hours, then the key runs anew (docs/spec/traffic.md §3). */
export const IDEMPOTENCY_TTL_MS = DAY
/** A claim still `in_progress` after this long belongs to a process that died: take it over. */
export const STALE_CLAIM_MS = 60 * SECOND

export interface IdempotentRequest extends Record<string, string> {
  principal: string
  key: string
  method: string
  path: string
  fingerprint: string
}

export interface StoredResponse {
  status: number
  body: string | null
  contentType: string | null
  location: string | null
}

export type ClaimOutcome =
  | { kind: 'claimed' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' }
  /** The principal's account is being erased (or is gone): nothing may be stored for it. */
  | { kind: 'account_gone' }

/**
 * IMPORTANT: a claim is only inserted while its account is live. A request authenticated a moment
 * before an erasure was requested must not leave a row (holding the user id) after the erasure.
 */
const claimSql = (typed: SqlWords['typed']) =>
  `INSERT INTO idempotency_keys (principal, key, method, path, fingerprint, state, created_at, locked_at, expires_at)
   SELECT ${typed('$principal', 'text')}, ${typed('$key', 'text')}, ${typed('$method', 'text')}, ${typed('$path', 'text')},
          ${typed('$fingerprint', 'text')}, 'in_progress', ${typed('$now', 'bigint')}, ${typed('$now', 'bigint')}, ${typed('$expiresAt', 'bigint')}
    WHERE EXISTS (SELECT 1 FROM users WHERE id = $principal AND erasure_requested_at IS NULL)
   ON CONFLICT DO NOTHING`
/**
 * The same, for an outcome stored by a request whose claim was left to its route's transaction
 * (recordIdempotencyOutcome): inserted finished, or finishing this request's own claim when that
 * transaction committed it; another request's finished outcome is left as it is.
 */
const outcomeSql = (typed: SqlWords['typed']) =>
  `INSERT INTO idempotency_keys (principal, key, method, path, fingerprint, state, status, body, content_type,
                                 location, created_at, locked_at, expires_at)
   SELECT ${typed('$principal', 'text')}, ${typed('$key', 'text')}, ${typed('$method', 'text')}, ${typed('$path', 'text')},
          ${typed('$fingerprint', 'text')}, 'done', ${typed('$status', 'bigint')}, ${typed('$body', 'text')},
          ${typed('$contentType', 'text')}, ${typed('$location', 'text')}, ${typed('$now', 'bigint')}, ${typed('$now', 'bigint')},
          ${typed('$expiresAt', 'bigint')}
    WHERE EXISTS (SELECT 1 FROM users WHERE id = $principal AND erasure_requested_at IS NULL)
   ON CONFLICT (principal, key) DO UPDATE SET state = 'done', status = excluded.status, body = excluded.body,
     content_type = excluded.content_type, location = excluded.location
   WHERE idempotency_keys.state = 'in_progress' AND idempotency_keys.fingerprint = excluded.fingerprint`
// PostgreSQL types the parameters of a SELECT list only when told.
const insertClaim = statementsFor((db) => db.prepare(claimSql(db.words.typed)))
const insertOutcome = statementsFor((db) => db.prepare(outcomeSql(db.words.typed)))
const findClaim = preparedFor((orm) =>
  orm
    .select()
    .from(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.principal, sql.placeholder('principal')),
        eq(idempotencyKeys.key, sql.placeholder('key')),
      ),
    )
    .prepare(),
)

/**
 * Claims `(principal, key)` atomically: `INSERT … ON CONFLICT DO NOTHING`, and only when the row
 * already exists, decide from it — replay a finished outcome, refuse a different request, report
 * one still in progress, take over a stale or expired claim.
 */
export function claimIdempotencyKey(
  store: Store,
  clock: Clock,
  request: IdempotentRequest,
): Promise<ClaimOutcome> {
  const now = clock.now()
  return writeTransaction(store, (tx) => claimIdempotencyKeyWithin(tx, now, request))
}

/**
 * The same inside the caller's write transaction, as its first statement: only `claimed` writes
 * anything, so on any other outcome the caller may return at once and commit nothing.
 */
export async function claimIdempotencyKeyWithin(
  tx: Tx,
  now: number,
  request: IdempotentRequest,
): Promise<ClaimOutcome> {
  // The account stays live until this transaction ends (an erasure waits for it): db/row-locks.ts.
  await lockAccount(tx, request.principal)
  // The common case: the insert claims it.
  if ((await insertClaim(tx).run({ ...request, now, expiresAt: now + IDEMPOTENCY_TTL_MS })).changes === 1)
    return { kind: 'claimed' }
  const existing = await one(findClaim(tx), { principal: request.principal, key: request.key })
  // Nothing inserted and nothing there: the account is being erased (the insert's condition).
  if (!existing) return { kind: 'account_gone' }
  const restart = async () => {
    await exec(
      tx
        .update(idempotencyKeys)
        .set({
          ...request,
          state: 'in_progress',
          status: null,
          body: null,
          contentType: null,
          location: null,
          createdAt: now,
          lockedAt: now,
          expiresAt: now + IDEMPOTENCY_TTL_MS,
        })
        .where(and(eq(idempotencyKeys.principal, request.principal), eq(idempotencyKeys.key, request.key))),
    )
    return { kind: 'claimed' as const }
  }
  if (existing.expiresAt <= now) return restart()
  if (existing.fingerprint !== request.fingerprint) return { kind: 'mismatch' }
  if (existing.state === 'done')
    return {
      kind: 'replay',
      response: {
        status: existing.status ?? 200,
        body: existing.body,
        contentType: existing.contentType,
        location: existing.location,
      },
    }
  if (existing.lockedAt > now - STALE_CLAIM_MS) return { kind: 'in_progress' }
  return restart()
}

/**
 * Stores the outcome of a request whose claim was left to its route's transaction, whatever became
 * of that claim: never taken (refused before the route ran) or rolled back with the transaction —
 * one insert; committed still in progress (an answer settled after the transaction) — finished.
 * Nothing when another request's outcome is there or the account is being erased.
 */
export async function recordIdempotencyOutcome(
  store: Store,
  clock: Clock,
  request: IdempotentRequest,
  response: StoredResponse,
): Promise<void> {
  const now = clock.now()
  await writeTransaction(store, async (tx) => {
    await lockAccount(tx, request.principal)
    await insertOutcome(tx).run({ ...request, ...response, now, expiresAt: now + IDEMPOTENCY_TTL_MS })
  })
}

// Raw (db/row-reader.ts): it runs inside every idempotent create's transaction.
const completeClaim = statementFor<Record<string, string | number | null>>(
  `UPDATE idempotency_keys SET state = 'done', status = $status, body = $body, content_type = $contentType,
     location = $location
   WHERE principal = $principal AND key = $key`,
)
const releaseClaim = preparedFor((orm) =>
  orm
    .delete(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.principal, sql.placeholder('principal')),
        eq(idempotencyKeys.key, sql.placeholder('key')),
        eq(idempotencyKeys.state, 'in_progress'),
      ),
    )
    .prepare(),
)

export async function completeIdempotencyKey(
  store: Store,
  principal: string,
  key: string,
  response: StoredResponse,
): Promise<void> {
  await writeTransaction(store, (tx) => completeIdempotencyKeyWithin(tx, principal, key, response))
}

/** The same inside the caller's write transaction: the outcome commits with the work. */
export async function completeIdempotencyKeyWithin(
  tx: Tx,
  principal: string,
  key: string,
  response: StoredResponse,
): Promise<void> {
  await completeClaim(tx).run({ principal, key, ...response })
}

/** Forgets a claim whose request failed on our side (5xx), so a retry runs again. */
export async function releaseIdempotencyKey(store: Store, principal: string, key: string): Promise<void> {
  await writeTransaction(store, (tx) => exec(releaseClaim(tx), { principal, key }))
}

/** The reaper: deletes keys past their 24-hour retention. Returns how many. */
export function reapIdempotencyKeys(store: Store, now: number): Promise<number> {
  return writeTransaction(
    store,
    async (tx) => (await exec(tx.delete(idempotencyKeys).where(lte(idempotencyKeys.expiresAt, now)))).changes,
  )
}
