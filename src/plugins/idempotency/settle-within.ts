import type { Tx } from '../../../db/client'
import { completeIdempotencyKeyWithin, type StoredResponse } from '../../services/idempotency'
import { stateOf } from '../request-state'

/**
 * For a route whose whole effect is one write transaction: stores the answer it is about to give
 * with its Idempotency-Key claim inside that transaction, so one COMMIT settles both. Settling
 * after the answer costs a write transaction of its own (with the claim's, three per create:
 * ~14 WAL pages). Call it last in the transaction, with exactly the bytes the route will send.
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
