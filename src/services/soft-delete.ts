import { and, eq, isNotNull, isNull } from 'drizzle-orm'
import { exec } from '../../db/query'
import { readTransaction, type Store, writeTransaction } from '../../db/store'
import { apiKeys, subscriptions, teams, users } from '../../db/tables'
import { type BillingPort, isTerminal } from '../billing/port'
import { AppError } from '../errors'
import { type Clock, DAY } from '../lib/clock'
import { subscriptionOfUser } from './account-overview'
import { getUser, personalTeam } from './accounts'
import { recordAudit } from './audit'
import { atStripeFailClosed } from './billing'
import { ensureErasureRequest, withdrawErasureRequests } from './data-requests'
import { emitEvent } from './events'
import { destroyActiveSandboxes } from './sandbox-lifecycle'

export interface SoftDeleteDeps {
  store: Store
  clock: Clock
  billing: BillingPort | null
  config: { deletionGraceDays: number }
}

/**
 * /v1 stage 1: schedule the account for deletion after the grace period. At Stripe first (the
 * subscription is set to cancel at period end; failing closed changes nothing), then in one
 * transaction: timestamps on user and team, active keys suspended (a restore revives exactly
 * those), sandboxes still holding capacity destroyed.
 */
export async function softDeleteAccount(deps: SoftDeleteDeps, userId: string): Promise<void> {
  const { store, clock, billing } = deps
  const sub = await readTransaction(store, (tx) => subscriptionOfUser(tx, userId))
  let cancelSetByUs = false
  if (billing && sub && !isTerminal(sub.status) && !sub.cancelAtPeriodEnd) {
    await atStripeFailClosed(() =>
      billing.setCancelAtPeriodEnd(
        sub.stripeSubscriptionId,
        true,
        `custodian-soft-delete-${userId}-${clock.now()}`,
      ),
    )
    cancelSetByUs = true
  }
  await writeTransaction(store, async (tx) => {
    const now = clock.now()
    const scheduled = now + Math.round(deps.config.deletionGraceDays * DAY)
    await exec(
      tx
        .update(users)
        .set({ softDeletedAt: now, deleteScheduledAt: scheduled, updatedAt: now })
        .where(eq(users.id, userId)),
    )
    const team = await personalTeam(tx, userId)
    await exec(tx.update(teams).set({ softDeletedAt: now, updatedAt: now }).where(eq(teams.id, team.id)))
    await exec(
      tx
        .update(apiKeys)
        .set({ isActive: false, suspendedAt: now })
        .where(and(eq(apiKeys.userId, userId), eq(apiKeys.isActive, true), isNull(apiKeys.revokedAt))),
    )
    await destroyActiveSandboxes(tx, team.id, now)
    if (cancelSetByUs && sub)
      await exec(
        tx
          .update(subscriptions)
          .set({ cancelAtPeriodEnd: true, cancelSetByDeletion: true, updatedAt: now })
          .where(eq(subscriptions.id, sub.id)),
      )
    await ensureErasureRequest(tx, clock, userId)
    await recordAudit(tx, clock, userId, 'account.deletion_requested', {
      mode: 'soft',
      graceDays: deps.config.deletionGraceDays,
    })
    await emitEvent(tx, clock, 'account.deletion_scheduled', userId, {
      user_id: userId,
      erase_at: new Date(scheduled).toISOString(),
    })
  })
}

/**
 * /v1 restore during the grace period: clears both timestamps, revives the keys the soft delete
 * suspended (not ones the user revoked), and undoes the cancellation it set at Stripe.
 */
export async function restoreAccount(deps: SoftDeleteDeps, userId: string): Promise<void> {
  const { store, clock, billing } = deps
  const { user, sub } = await readTransaction(store, async (tx) => ({
    user: await getUser(tx, userId),
    sub: await subscriptionOfUser(tx, userId),
  }))
  if (!user?.softDeletedAt) throw new AppError('CONFLICT', 'The account is not scheduled for deletion.')
  if (user.deleteScheduledAt !== null && user.deleteScheduledAt <= clock.now())
    throw new AppError('CONFLICT', 'The grace period is over; the account is being deleted.')
  if (billing && sub?.cancelSetByDeletion && !isTerminal(sub.status))
    await atStripeFailClosed(() =>
      billing.setCancelAtPeriodEnd(
        sub.stripeSubscriptionId,
        false,
        `custodian-restore-${userId}-${user.softDeletedAt}`,
      ),
    )
  await writeTransaction(store, async (tx) => {
    const now = clock.now()
    await exec(
      tx
        .update(users)
        .set({ softDeletedAt: null, deleteScheduledAt: null, updatedAt: now })
        .where(eq(users.id, userId)),
    )
    await exec(
      tx.update(teams).set({ softDeletedAt: null, updatedAt: now }).where(eq(teams.ownerUserId, userId)),
    )
    await exec(
      tx
        .update(apiKeys)
        .set({ isActive: true, suspendedAt: null })
        .where(and(eq(apiKeys.userId, userId), isNotNull(apiKeys.suspendedAt), isNull(apiKeys.revokedAt))),
    )
    if (sub?.cancelSetByDeletion)
      await exec(
        tx
          .update(subscriptions)
          .set({ cancelAtPeriodEnd: false, cancelSetByDeletion: false, updatedAt: now })
          .where(eq(subscriptions.id, sub.id)),
      )
    await recordAudit(tx, clock, userId, 'account.deletion_restored')
    await withdrawErasureRequests(tx, userId, clock.now())
    await emitEvent(tx, clock, 'account.deletion_canceled', userId, { user_id: userId })
  })
}
