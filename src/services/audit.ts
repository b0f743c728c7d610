import { exec } from '../../db/query'
import type { Tx } from '../../db/store'
import { auditEvents } from '../../db/tables'
import type { Clock } from '../lib/clock'
import { uuidv7 } from '../lib/ids'
import { hashUserId } from '../lib/pseudonym'
import type { ConsoleAction } from './console/audit'

export type AuditAction =
  | 'account.exported'
  | 'account.deletion_requested'
  | 'account.deletion_restored'
  | 'account.deletion_completed'
  | 'key.created'
  | 'key.rotated'
  | 'key.revoked'
  | 'account.legal_hold_placed'
  | 'account.legal_hold_released'
  | 'account.deletion_blocked_legal_hold'
  | 'account.inactivity_warned'
  | ConsoleAction

/**
 * Records an account-level event. PII-free by construction: a hashed user id and details the
 * caller chooses (ids, counts, kinds) — never an email, a name, an IP or a key.
 */
export async function recordAudit(
  tx: Tx,
  clock: Clock,
  userId: string,
  action: AuditAction,
  details: Record<string, string | number | boolean | null> | null = null,
) {
  await exec(
    tx
      .insert(auditEvents)
      .values({ id: uuidv7(clock), userHash: hashUserId(userId), action, at: clock.now(), details }),
  )
}
