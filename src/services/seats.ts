import { and, eq } from 'drizzle-orm'
import { exec } from '../../db/query'
import type { AppRow } from '../../db/rows'
import { readTransaction, type Tx, writeTransaction } from '../../db/store'
import { subscriptions } from '../../db/tables'
import { isTerminal } from '../billing/port'
import { AppError } from '../errors'
import { errorFields, type Logger } from '../lib/logger'
import { isUsable } from './account-overview'
import { ownedApp } from './apps'
import { atStripe, type BillingDeps, underBillingLock } from './billing'
import {
  clearSeats,
  grantSeat,
  liveSubscription,
  mirror,
  mirrorSubscription,
  seatCount,
  stripeKey,
} from './subscription-mirror'

export interface SeatDeps extends BillingDeps {
  logger: Logger
}

const subscriptionRequired = () =>
  new AppError(
    'SUBSCRIPTION_REQUIRED',
    'Publishing another app needs an active subscription: start one with POST /api/apps/{appId}/create-subscription.',
  )

/**
 * The deploy's billing rule, checked before anything is written: with billing on, an app without a
 * seat needs a usable subscription (active, past_due, trialing) to get one.
 */
export async function requireSeatable(deps: SeatDeps, userId: string, app: AppRow): Promise<void> {
  if (!deps.billing || app.seat) return
  const row = await readTransaction(deps.store, (tx) => liveSubscription(tx, userId))
  if (!row || !isUsable(row.status)) throw subscriptionRequired()
}

/**
 * Adds the app's seat at Stripe (quantity = the account's seats + 1, prorated), then runs
 * `publish` with a recorder that writes the seat and the new quantity in publish's own transaction.
 * If publishing fails after Stripe said yes, the seat is taken back so nobody pays for an app
 * that is not live. Without billing, or for an app that already holds a seat, it only publishes.
 */
export async function withNewSeat<T>(
  deps: SeatDeps,
  userId: string,
  app: AppRow,
  requestKey: string,
  publish: (recordSeat: (tx: Tx) => Promise<void>) => Promise<T>,
): Promise<T> {
  const billing = deps.billing
  if (!billing || app.seat) return publish(async () => {})
  return underBillingLock(deps, userId, async () => {
    const { seated, row, seats } = await readTransaction(deps.store, async (tx) => ({
      seated: (await ownedApp(tx, userId, app.id)).seat,
      row: await liveSubscription(tx, userId),
      seats: await seatCount(tx, userId),
    }))
    if (seated) return publish(async () => {})
    if (!row || !isUsable(row.status)) throw subscriptionRequired()
    const current = await atStripe(() => billing.retrieveSubscription(row.stripeSubscriptionId))
    if (current === 'missing' || !isUsable(current.status)) {
      if (current !== 'missing') await mirror(deps.store, deps.clock, userId, current, deps.config.stripe)
      throw subscriptionRequired()
    }
    const added = await atStripe(() =>
      billing.updateSeats(
        current,
        { quantity: seats + 1 },
        stripeKey(userId, requestKey, `seat-add-${app.id}`),
      ),
    )
    if (added === 'missing') throw subscriptionRequired()
    try {
      return await publish(async (tx) => {
        await mirrorSubscription(tx, deps.clock, userId, added, deps.config.stripe)
        await grantSeat(tx, userId, app.id)
      })
    } catch (error) {
      await billing
        .updateSeats(added, { quantity: seats }, stripeKey(userId, requestKey, `seat-undo-${app.id}`))
        .catch((undo) => deps.logger.error('seat undo failed', { appId: app.id, ...errorFields(undo) }))
      throw error
    }
  })
}

/**
 * Runs `remove` (the app's deletion) after releasing its seat at Stripe: quantity − 1, prorated;
 * the last seat cancels the subscription at once (the card stays on file). Stripe first: when it
 * cannot be reached the app is kept and the request fails, so nobody pays for a deleted app.
 */
export async function withSeatReleased<T>(
  deps: SeatDeps,
  userId: string,
  appId: string,
  requestKey: string,
  remove: () => Promise<T>,
): Promise<T> {
  const billing = deps.billing
  if (!billing) return remove()
  return underBillingLock(deps, userId, async () => {
    const { app, row, seats } = await readTransaction(deps.store, async (tx) => ({
      app: await ownedApp(tx, userId, appId),
      row: await liveSubscription(tx, userId),
      seats: await seatCount(tx, userId),
    }))
    if (!app.seat || !row) return remove()
    const remaining = seats - 1
    if (remaining <= 0) {
      await atStripe(() =>
        billing.cancelSubscriptionNow(
          row.stripeSubscriptionId,
          stripeKey(userId, requestKey, `seat-last-${appId}`),
          {
            prorate: true,
          },
        ),
      )
      await writeTransaction(deps.store, async (tx) => {
        await exec(
          tx
            .update(subscriptions)
            .set({ status: 'canceled', cancelAtPeriodEnd: false, updatedAt: deps.clock.now() })
            .where(
              and(
                eq(subscriptions.userId, userId),
                eq(subscriptions.stripeSubscriptionId, row.stripeSubscriptionId),
              ),
            ),
        )
        await clearSeats(tx, userId)
      })
      return remove()
    }
    const current = await atStripe(() => billing.retrieveSubscription(row.stripeSubscriptionId))
    if (current !== 'missing' && !isTerminal(current.status)) {
      const reduced = await atStripe(() =>
        billing.updateSeats(
          current,
          { quantity: remaining },
          stripeKey(userId, requestKey, `seat-remove-${appId}`),
        ),
      )
      if (reduced !== 'missing') await mirror(deps.store, deps.clock, userId, reduced, deps.config.stripe)
    } else if (current !== 'missing')
      await mirror(deps.store, deps.clock, userId, current, deps.config.stripe)
    return remove()
  })
}
