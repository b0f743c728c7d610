import { and, eq, gt, isNull, lte } from 'drizzle-orm'
import { exec, one } from '../../../db/query'
import { readTransaction, type Store, writeTransaction } from '../../../db/store'
import { consoleSessions, users } from '../../../db/tables'
import { AppError } from '../../errors'
import { type Clock, HOUR } from '../../lib/clock'
import { digestsEqual, sha256Hex } from '../../lib/crypto'
import { randomBase62 } from '../../lib/ids'
import { hashUserId } from '../../lib/pseudonym'
import { mac } from '../../lib/signed-link'
import type { CredentialVerifier } from '../credentials'
import { recordConsoleAction } from './audit'

/** How long a console sign-in lasts; signing in again starts a new one. */
export const CONSOLE_SESSION_MS = 12 * HOUR

export interface ConsoleSessionDeps {
  store: Store
  clock: Clock
  verifier: CredentialVerifier
}

/** The operator behind a console request. */
export interface ConsoleOperator {
  userId: string
  /** The operator's pseudonym: what audit records and events name. */
  operator: string
  email: string
  /** The token every form of this session carries (services/console/sessions.ts, csrfTokenOf). */
  csrf: string
  sessionId: string
}

/** A token bound to one secret (a session's cookie, a sign-in form's cookie), for forms. */
export const csrfTokenOf = (secret: string): string => mac('console-csrf', secret)

/** Whether a form's token is the one its cookie's secret gives (constant time). */
export const csrfMatches = (secret: string, token: unknown) =>
  typeof token === 'string' && digestsEqual(csrfTokenOf(secret), token)

/**
 * Exchanges an operator's credential (an API key or a session token) for a console session.
 * Anyone else is refused: a bad credential with 401, a valid one that is not an operator's with 403.
 */
export async function openConsoleSession(deps: ConsoleSessionDeps, credential: string) {
  const verified = await deps.verifier.verify(credential.trim())
  if (!verified.ok) throw new AppError('UNAUTHORIZED', 'That key or token is not valid.')
  const principal = verified.principal
  if (principal.softDeleted) throw new AppError('ACCOUNT_DELETED', 'The account is scheduled for deletion.')
  const token = `cs_${randomBase62(43)}`
  const now = deps.clock.now()
  await writeTransaction(deps.store, async (tx) => {
    // Decision: an API key signs in when its owner is an operator (keys carry no operator power on
    // the API, where operator routes take session tokens only; the console asks the account itself).
    const owner = await one(
      tx.select({ isOperator: users.isOperator }).from(users).where(eq(users.id, principal.userId)),
    )
    if (!owner?.isOperator) throw new AppError('OPERATOR_REQUIRED', 'The console is for operators.')
    await exec(
      tx.insert(consoleSessions).values({
        id: sha256Hex(token),
        userId: principal.userId,
        createdAt: now,
        expiresAt: now + CONSOLE_SESSION_MS,
      }),
    )
    await recordConsoleAction(tx, deps.clock, principal.userId, 'console.signed_in', null)
  })
  return { token, expiresAt: now + CONSOLE_SESSION_MS }
}

/**
 * The operator a session cookie belongs to, or null: unknown, expired or signed out, or its
 * account is no longer an operator, being erased or scheduled for deletion. Asked on every
 * console request, so losing the role or the account ends the session at once.
 */
export async function consoleOperatorOf(deps: ConsoleSessionDeps, token: string | undefined) {
  if (!token || token.length > 100) return null
  const sessionId = sha256Hex(token)
  const row = await readTransaction(deps.store, (tx) =>
    one(
      tx
        .select({ userId: users.id, email: users.email })
        .from(consoleSessions)
        .innerJoin(users, eq(users.id, consoleSessions.userId))
        .where(
          and(
            eq(consoleSessions.id, sessionId),
            gt(consoleSessions.expiresAt, deps.clock.now()),
            eq(users.isOperator, true),
            isNull(users.softDeletedAt),
            isNull(users.erasureRequestedAt),
          ),
        ),
    ),
  )
  if (!row) return null
  return {
    userId: row.userId,
    email: row.email,
    operator: hashUserId(row.userId),
    csrf: csrfTokenOf(token),
    sessionId,
  } satisfies ConsoleOperator
}

/** Signs a session out (its cookie stops working at once, on every instance). */
export async function closeConsoleSession(deps: ConsoleSessionDeps, operator: ConsoleOperator) {
  await writeTransaction(deps.store, async (tx) => {
    await exec(tx.delete(consoleSessions).where(eq(consoleSessions.id, operator.sessionId)))
    await recordConsoleAction(tx, deps.clock, operator.userId, 'console.signed_out', null)
  })
}

/** Ends every console session of an operator (signing out everywhere). */
export async function closeAllConsoleSessions(deps: ConsoleSessionDeps, operator: ConsoleOperator) {
  await writeTransaction(deps.store, async (tx) => {
    await exec(tx.delete(consoleSessions).where(eq(consoleSessions.userId, operator.userId)))
    await recordConsoleAction(tx, deps.clock, operator.userId, 'console.signed_out', {
      detail: { everywhere: true },
    })
  })
}

/** Worker: removes sessions past their 12 hours (they already sign nobody in). */
export async function reapConsoleSessions(
  deps: Pick<ConsoleSessionDeps, 'store' | 'clock'>,
): Promise<number> {
  const now = deps.clock.now()
  return writeTransaction(
    deps.store,
    async (tx) => (await exec(tx.delete(consoleSessions).where(lte(consoleSessions.expiresAt, now)))).changes,
  )
}
