import { lockAccount, lockTeam, type RowLockMode } from '../../db/row-locks'
import type { Tx } from '../../db/store'
import { AppError } from '../errors'

/**
 * IMPORTANT: once an erasure is requested nothing more may be stored for the account — a row
 * committed between two of the erasure's chunks would outlive it or block it on a foreign key.
 * A write that creates something of an account takes its row lock through these: the erasure's
 * mark is set under the same lock, so the write either commits before the mark (and the erasure's
 * last sweep removes it) or sees it and is refused, as the credential would be: 401.
 */
const beingErased = () => new AppError('UNAUTHORIZED', 'This account is being erased.')

export async function lockLiveAccount(tx: Tx, userId: string, mode: RowLockMode = 'share'): Promise<void> {
  if (!(await lockAccount(tx, userId, mode))) throw beingErased()
}

/** The same for a team's quotas (db/row-locks.ts, lockTeam): refused once its owner is being erased. */
export async function lockLiveTeam(tx: Tx, teamId: string): Promise<void> {
  if (!(await lockTeam(tx, teamId))) throw beingErased()
}
