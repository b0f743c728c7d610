import { and, count, eq, isNull } from 'drizzle-orm'
import { exec, one } from '../../db/query'
import { lockAccount } from '../../db/row-locks'
import { type Store, type Tx, writeTransaction } from '../../db/store'
import { apps, subscriptions, users } from '../../db/tables'
import { type BillingSubscription, isTerminal, type PlanType } from '../billing/port'
import type { Clock } from '../lib/clock'
import { sha256Hex } from '../lib/crypto'
import { uuidv7 } from '../lib/ids'
import { type SubscriptionRow, subscriptionOfUser } from './account-overview'
import { emitEvent } from './events'

export interface PriceConfig {
  priceMonthly: string
  priceYearly: string
}

export const priceOf = (prices: PriceConfig, plan: PlanType) =>
  plan === 'yearly' ? prices.priceYearly : prices.priceMonthly
export const planOf = (prices: PriceConfig, priceId: string | null): PlanType =>
  priceId === prices.priceYearly ? 'yearly' : 'monthly'

/**
 * The Stripe idempotency key of one operation of one of our requests. Derived from the client's
 * `Idempotency-Key` when it sent one (else our request id): a client retry after a timeout sends
 * the same key, so Stripe replays what it did instead of doing it twice.
 */
export function stripeKey(userId: string, requestKey: string, operation: string): string {
  return `custodian-${operation}-${sha256Hex(`${userId}\u0000${requestKey}\u0000${operation}`).slice(0, 40)}`
}

/** Apps of the account holding a seat. */
export async function seatCount(tx: Tx, userId: string): Promise<number> {
  return (
    (
      await one(
        tx
          .select({ n: count() })
          .from(apps)
          .where(and(eq(apps.userId, userId), eq(apps.seat, true))),
      )
    )?.n ?? 0
  )
}

/**
 * Writes Stripe's view of the account's subscription into the local mirror (one row per account).
 * A late event about an older, ended subscription never overwrites a newer live one. When the
 * subscription has ended, no app holds a seat any more.
 */
export async function mirrorSubscription(
  tx: Tx,
  clock: Clock,
  userId: string,
  view: BillingSubscription,
  prices: PriceConfig,
): Promise<SubscriptionRow | null> {
  // Which subscription is the account's is decided from what is there: one mirror at a time per
  // account (a webhook and a checkout return may race): db/row-locks.ts.
  await lockAccount(tx, userId, 'update')
  const now = clock.now()
  const existing = await one(tx.select().from(subscriptions).where(eq(subscriptions.userId, userId)))
  if (
    existing &&
    existing.stripeSubscriptionId !== view.id &&
    !isTerminal(existing.status) &&
    isTerminal(view.status)
  )
    return existing
  const fields = {
    stripeSubscriptionId: view.id,
    status: view.status,
    planType: planOf(prices, view.priceId),
    quantity: view.quantity,
    cancelAtPeriodEnd: view.cancelAtPeriodEnd,
    currentPeriodEnd: view.currentPeriodEnd,
    updatedAt: now,
    ...(existing && existing.stripeSubscriptionId !== view.id ? { cancelSetByDeletion: false } : {}),
  }
  const row = await one(
    tx
      .insert(subscriptions)
      .values({ id: uuidv7(clock), userId, createdAt: now, ...fields })
      .onConflictDoUpdate({ target: subscriptions.userId, set: fields })
      .returning(),
  )
  if (isTerminal(view.status)) await clearSeats(tx, userId)
  const changed =
    !existing ||
    existing.stripeSubscriptionId !== view.id ||
    existing.status !== view.status ||
    existing.planType !== fields.planType ||
    existing.quantity !== view.quantity ||
    existing.cancelAtPeriodEnd !== view.cancelAtPeriodEnd
  if (changed)
    await emitEvent(
      tx,
      clock,
      !existing || existing.stripeSubscriptionId !== view.id
        ? 'subscription.created'
        : isTerminal(view.status) && !isTerminal(existing.status)
          ? 'subscription.canceled'
          : 'subscription.updated',
      userId,
      {
        user_id: userId,
        subscription_id: view.id,
        status: view.status,
        plan: fields.planType,
        quantity: view.quantity,
        cancel_at_period_end: view.cancelAtPeriodEnd,
      },
    )
  if (view.trialEnd !== null)
    await exec(
      tx
        .update(users)
        .set({ trialUsedAt: now })
        .where(and(eq(users.id, userId), isNull(users.trialUsedAt))),
    )
  return row
}

/** No app of the account holds a seat (its subscription ended). */
export async function clearSeats(tx: Tx, userId: string) {
  await exec(tx.update(apps).set({ seat: false }).where(eq(apps.userId, userId)))
}

/** Gives the user's app a seat (apps named by Stripe metadata are checked to be theirs). */
export async function grantSeat(tx: Tx, userId: string, appId: string) {
  await exec(
    tx
      .update(apps)
      .set({ seat: true })
      .where(and(eq(apps.id, appId), eq(apps.userId, userId))),
  )
}

/** The mirror row when it describes a subscription that can still bill (or null). */
export async function liveSubscription(tx: Tx, userId: string): Promise<SubscriptionRow | null> {
  const row = await subscriptionOfUser(tx, userId)
  return row && !isTerminal(row.status) ? row : null
}

export function mirror(
  store: Store,
  clock: Clock,
  userId: string,
  view: BillingSubscription,
  prices: PriceConfig,
) {
  return writeTransaction(store, (tx) => mirrorSubscription(tx, clock, userId, view, prices))
}
