import type { Tx } from '../../../db/store'
import { completeIdempotencyKeyWithin, type StoredResponse } from '../../services/idempotency'
import { stateOf } from '../request-state'

/**
 * For a route whose whole effect is one write transaction: stores the answer it is about to give
 * with its Idempotency-Key claim inside that transaction, so one COMMIT settles both. Settling
 * after the answer costs a write transaction of its own. Call it last in the transaction, with
 * exactly the bytes the route will send.
 *
 * Without a claim (no key sent) it does nothing; an answer holding a one-time secret is sealed
 * asynchronously and settled the usual way. Should the transaction roll back, so does the
 * outcome, and the error envelope settles the error as for any route.
 */
export async function settleClaimWithin(tx: Tx, request: Request, answer: StoredResponse): Promise<void> {
  const state = stateOf(request)
  if (!state.idempotency || !state.settleResponse || state.responseSettled || state.secretResponse) return
  await completeIdempotencyKeyWithin(tx, state.idempotency.principal, state.idempotency.key, answer)
  state.settledWithin = true
}

/**
 * For a route the idempotency plugin lists as `claimedWithin`: takes the request's Idempotency-Key
 * claim as the first statement of the route's write transaction, so the claim, the work and the
 * stored answer commit together — one write transaction per request instead of two, and no
 * `in_progress` row is ever visible. Answers undefined to go on (claimed, or no key sent), or a
 * Response to send instead — a replay — with nothing written; throws the claim's refusals
 * (mismatch, in progress, account being erased), which roll the transaction back.
 */
export function takeClaimWithin(tx: Tx, request: Request): Promise<Response | undefined> | undefined {
  return stateOf(request).takeClaim?.(tx)
}
