import type { Tx } from '../../../db/store'
import type { Clock } from '../../lib/clock'
import { hashUserId } from '../../lib/pseudonym'
import { recordAudit } from '../audit'
import { emitEvent } from '../events'

export type ConsoleAction =
  | 'console.signed_in'
  | 'console.signed_out'
  | 'console.export_requested'
  | 'console.deletion_scheduled'
  | 'console.deletion_canceled'
  | 'console.erased'
  | 'console.legal_hold_placed'
  | 'console.legal_hold_released'
  | 'console.quota_tier_set'
  | 'console.key_revoked'
  | 'console.request_transitioned'
  | 'console.delivery_retried'
  | 'console.secret_rotated'

/** What an action was done to: an account (its user id), and/or one of its things by id. */
export interface ConsoleTarget {
  account?: string
  kind?: 'key' | 'request' | 'delivery' | 'endpoint' | 'erasure' | 'archive' | 'tier'
  id?: string
  detail?: Record<string, string | number | boolean | null>
}

/**
 * Every console action is audited (the account's audit trail, or the operator's own when it
 * targets no account) naming the operator by pseudonym only, and announced as `operator.action`
 * to the webhook endpoints that want it. Call inside the action's transaction, or right after it.
 * An account is named by its pseudonym in the audit (which outlives it) and by id in the event.
 */
export async function recordConsoleAction(
  tx: Tx,
  clock: Clock,
  operatorUserId: string,
  action: ConsoleAction,
  target: ConsoleTarget | null,
) {
  const operator = hashUserId(operatorUserId)
  const about = {
    operator,
    ...(target?.kind ? { target_type: target.kind } : {}),
    ...(target?.id ? { target_id: target.id } : {}),
  }
  await recordAudit(tx, clock, target?.account ?? operatorUserId, action, { ...about, ...target?.detail })
  if (action === 'console.signed_in' || action === 'console.signed_out') return
  await emitEvent(tx, clock, 'operator.action', target?.account ?? null, {
    action: action.slice('console.'.length),
    ...about,
    ...(target?.account ? { user_id: target.account } : {}),
  })
}
