import { eq } from 'drizzle-orm'
import { exec } from '../../db/query'
import { readTransaction, type Store, type Tx, writeTransaction } from '../../db/store'
import { users } from '../../db/tables'
import {
  BillingError,
  type BillingInvoice,
  type BillingPort,
  type BillingSubscription,
  type CheckoutSession,
  isTerminal,
  type PlanType,
} from '../billing/port'
import { AppError } from '../errors'
import type { Clock } from '../lib/clock'
import type { KeyedLock } from '../lib/keyed-lock'
import type { SubscriptionRow } from './account-overview'
import { getUser, type UserRow } from './accounts'
import { ownedApp, requireOwnedApp } from './apps'
import {
  grantSeat,
  liveSubscription,
  mirror,
  mirrorSubscription,
  type PriceConfig,
  priceOf,
  stripeKey,
} from './subscription-mirror'

export interface BillingDeps {
  store: Store
  clock: Clock
  billing: BillingPort | null
  billingLocks: KeyedLock
  config: { publicUrl: string; stripe: PriceConfig & { trialDays: number } }
}

/** Invoices listed by GET /api/invoices. */
export const INVOICES_SHOWN = 24

export function requireBilling(deps: { billing: BillingPort | null }): BillingPort {
  if (!deps.billing) throw new AppError('FEATURE_UNAVAILABLE', 'Billing is not enabled on this server.')
  return deps.billing
}

/** Maps a Stripe failure to the catalogue: declined cards, refusals, Stripe out of reach. */
export function billingFailure(error: unknown): unknown {
  if (!(error instanceof BillingError)) return error
  switch (error.kind) {
    case 'card':
      return new AppError('CARD_ERROR', error.message, { cause: error })
    case 'refused':
      return new AppError('PAYMENT_ERROR', `The payment provider refused the request: ${error.message}`, {
        cause: error,
      })
    default:
      return new AppError(
        'PAYMENT_PROVIDER_UNAVAILABLE',
        'The payment provider could not be reached; nothing was changed. Retry with the same Idempotency-Key.',
        { cause: error },
      )
  }
}

export async function atStripe<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    throw billingFailure(error)
  }
}

/**
 * For steps that must fail closed whatever Stripe said (deletion, soft deletion, restore): any
 * Stripe failure — out of reach or a refusal — is 502 PAYMENT_ERROR, and nothing changes here.
 */
export async function atStripeFailClosed<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    if (error instanceof BillingError)
      throw new AppError(
        'PAYMENT_PROVIDER_UNAVAILABLE',
        'The billing provider could not be reached; nothing was changed. Retry later.',
        { cause: error },
      )
    throw error
  }
}

/** One account's billing changes run one at a time (seat counts are read, then set). */
export const underBillingLock = <T>(deps: BillingDeps, userId: string, fn: () => Promise<T>) =>
  deps.billingLocks.run(`billing:${userId}`, fn)

async function userOf(tx: Tx, userId: string): Promise<UserRow> {
  const user = await getUser(tx, userId)
  if (!user) throw new Error(`user ${userId} vanished during the request`)
  return user
}

const requireUser = (store: Store, userId: string) => readTransaction(store, (tx) => userOf(tx, userId))

/**
 * Billing fields of the user row. A write transaction, so cached account statuses everywhere go
 * when it commits (db/change-epochs.ts).
 */
const saveUser = (
  deps: BillingDeps,
  userId: string,
  fields: Partial<Pick<UserRow, 'stripeCustomerId' | 'paymentMethod'>>,
) =>
  writeTransaction(deps.store, (tx) =>
    exec(
      tx
        .update(users)
        .set({ ...fields, updatedAt: deps.clock.now() })
        .where(eq(users.id, userId)),
    ),
  )

/** The user's Stripe customer, created on the first billing action that needs one. */
async function ensureCustomer(deps: BillingDeps, billing: BillingPort, user: UserRow): Promise<string> {
  if (user.stripeCustomerId) return user.stripeCustomerId
  // One customer per user, ever: the key depends on the user alone.
  const customerId = await atStripe(() =>
    billing.createCustomer(user.email, { userId: user.id }, `custodian-customer-${user.id}`),
  )
  await saveUser(deps, user.id, { stripeCustomerId: customerId })
  return customerId
}

const noActiveSubscription = () =>
  new AppError('NO_ACTIVE_SUBSCRIPTION', 'The account has no active subscription.')

/** The live mirror row, or NO_ACTIVE_SUBSCRIPTION. */
async function requireLive(deps: BillingDeps, userId: string): Promise<SubscriptionRow> {
  const row = await readTransaction(deps.store, (tx) => liveSubscription(tx, userId))
  if (!row) throw noActiveSubscription()
  return row
}

/** Stripe's current view of the mirrored subscription; mirrors it when Stripe says it ended. */
async function freshSubscription(
  deps: BillingDeps,
  billing: BillingPort,
  userId: string,
  row: SubscriptionRow,
): Promise<BillingSubscription> {
  const view = await atStripe(() => billing.retrieveSubscription(row.stripeSubscriptionId))
  if (view === 'missing' || isTerminal(view.status)) {
    if (view !== 'missing') await mirror(deps.store, deps.clock, userId, view, deps.config.stripe)
    throw noActiveSubscription()
  }
  return view
}

/** Starting a subscription: the app must be the user's, and the account must have none live. */
function readyToSubscribe(deps: BillingDeps, userId: string, appId: string) {
  return readTransaction(deps.store, async (tx) => {
    const app = await ownedApp(tx, userId, appId)
    if (await liveSubscription(tx, userId))
      throw new AppError(
        'SUBSCRIPTION_EXISTS',
        'The account already has a subscription; deploy apps to add seats.',
      )
    return { app, user: await userOf(tx, userId) }
  })
}

export interface SubscriptionStarted {
  subscriptionId: string
  status: string
  clientSecret?: string
}

/**
 * Starts the account's subscription with this app as its first seat (quantity 1). A first
 * subscription gets the configured trial and needs no card; otherwise a card must be on file.
 * Stripe is asked first whether a live subscription already exists — a retry after a lost answer
 * finds the one its first attempt created instead of creating a second.
 */
export async function startSubscription(
  deps: BillingDeps,
  userId: string,
  appId: string,
  plan: PlanType,
  requestKey: string,
): Promise<SubscriptionStarted> {
  const billing = requireBilling(deps)
  return underBillingLock(deps, userId, async () => {
    const { app, user } = await readyToSubscribe(deps, userId, appId)
    const trialDays = user.trialUsedAt === null ? deps.config.stripe.trialDays : 0
    if (trialDays === 0 && !user.paymentMethod)
      throw new AppError(
        'NO_PAYMENT_METHOD',
        'Add a card first (POST /api/setup-intent, then PUT /api/payment-method) or use a checkout session.',
      )
    const customerId = await ensureCustomer(deps, billing, user)
    const key = stripeKey(userId, requestKey, 'subscription-create')
    const existing = (await atStripe(() => billing.listSubscriptions(customerId))).find(
      (s) => !isTerminal(s.status),
    )
    if (existing) {
      await writeTransaction(deps.store, (tx) =>
        mirrorSubscription(tx, deps.clock, userId, existing, deps.config.stripe),
      )
      if (existing.metadata.request !== key)
        throw new AppError('SUBSCRIPTION_EXISTS', 'The account already has a subscription at Stripe.')
      if (existing.metadata.appId)
        await writeTransaction(deps.store, (tx) => grantSeat(tx, userId, existing.metadata.appId as string))
      return { subscriptionId: existing.id, status: existing.status }
    }
    const { subscription, clientSecret } = await atStripe(() =>
      billing.createSubscription(
        {
          customerId,
          priceId: priceOf(deps.config.stripe, plan),
          quantity: 1,
          trialDays,
          metadata: { userId, appId: app.id, request: key },
        },
        key,
      ),
    )
    await writeTransaction(deps.store, async (tx) => {
      await mirrorSubscription(tx, deps.clock, userId, subscription, deps.config.stripe)
      await grantSeat(tx, userId, app.id)
    })
    return {
      subscriptionId: subscription.id,
      status: subscription.status,
      ...(clientSecret ? { clientSecret } : {}),
    }
  })
}

/** A Stripe Checkout session that starts the subscription with this app as its first seat. */
export async function startCheckout(
  deps: BillingDeps,
  userId: string,
  appId: string,
  plan: PlanType,
  urls: { successUrl?: string; cancelUrl?: string },
  requestKey: string,
): Promise<{ url: string; sessionId: string }> {
  const billing = requireBilling(deps)
  return underBillingLock(deps, userId, async () => {
    const { app, user } = await readyToSubscribe(deps, userId, appId)
    const customerId = await ensureCustomer(deps, billing, user)
    const back = `${deps.config.publicUrl}/`
    const session = await atStripe(() =>
      billing.createCheckoutSession(
        {
          customerId,
          priceId: priceOf(deps.config.stripe, plan),
          trialDays: user.trialUsedAt === null ? deps.config.stripe.trialDays : 0,
          successUrl: urls.successUrl ?? `${back}?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
          cancelUrl: urls.cancelUrl ?? `${back}?checkout=canceled`,
          metadata: { userId, appId: app.id },
        },
        stripeKey(userId, requestKey, 'checkout-create'),
      ),
    )
    if (!session.url) throw new AppError('PAYMENT_ERROR', 'The payment provider returned no checkout URL.')
    return { url: session.url, sessionId: session.id }
  })
}

export interface SubscriptionState {
  subscriptionId: string
  status: string
  planType: PlanType
  quantity: number
  cancelAtPeriodEnd: boolean
  currentPeriodEnd: number | null
}

const stateOf = (row: SubscriptionRow): SubscriptionState => ({
  subscriptionId: row.stripeSubscriptionId,
  status: row.status,
  planType: row.planType,
  quantity: row.quantity,
  cancelAtPeriodEnd: row.cancelAtPeriodEnd,
  currentPeriodEnd: row.currentPeriodEnd,
})

/**
 * Records the subscription a completed checkout created, with the session's app as its seat.
 * Shared by verify-checkout and the `checkout.session.completed` webhook; safe to run twice.
 */
export async function completeCheckout(
  deps: BillingDeps,
  billing: BillingPort,
  userId: string,
  session: CheckoutSession,
): Promise<SubscriptionRow | null> {
  if (session.status !== 'complete' || !session.subscriptionId) return null
  const subscriptionId = session.subscriptionId
  return underBillingLock(deps, userId, async () => {
    const view = await atStripe(() => billing.retrieveSubscription(subscriptionId))
    if (view === 'missing') return null
    return writeTransaction(deps.store, async (tx) => {
      const row = await mirrorSubscription(tx, deps.clock, userId, view, deps.config.stripe)
      const appId = session.metadata.appId
      if (appId && !isTerminal(view.status) && row?.stripeSubscriptionId === view.id)
        await grantSeat(tx, userId, appId)
      return row
    })
  })
}

/** `POST …/verify-checkout`: finalises a completed checkout of this user for this app. */
export async function verifyCheckout(
  deps: BillingDeps,
  userId: string,
  appId: string,
  sessionId: string,
): Promise<SubscriptionState> {
  const billing = requireBilling(deps)
  await requireOwnedApp(deps.store, userId, appId)
  const session = await atStripe(() => billing.retrieveCheckoutSession(sessionId))
  // Another user's session is as unknown as a made-up one.
  if (session === 'missing' || session.metadata.userId !== userId || session.metadata.appId !== appId)
    throw new AppError('NOT_FOUND', 'No such checkout session.')
  if (session.status !== 'complete')
    throw new AppError(
      'PAYMENT_ERROR',
      session.status === 'expired' ? 'The checkout session expired.' : 'The checkout is not complete yet.',
    )
  const row = await completeCheckout(deps, billing, userId, session)
  if (!row) throw new AppError('PAYMENT_ERROR', 'The checkout created no subscription.')
  return stateOf(row)
}

/** Cancel at period end. */
export async function cancelSubscription(deps: BillingDeps, userId: string, requestKey: string) {
  const billing = requireBilling(deps)
  return underBillingLock(deps, userId, async () => {
    const row = await requireLive(deps, userId)
    if (row.cancelAtPeriodEnd)
      throw new AppError('ALREADY_CANCELING', 'The subscription is already set to cancel at period end.')
    const updated = await setCancel(deps, billing, userId, row, true, requestKey)
    return {
      status: updated.status,
      cancelAtPeriodEnd: true as const,
      currentPeriodEnd: updated.currentPeriodEnd,
    }
  })
}

/** Undo a pending cancellation. */
export async function reactivateSubscription(deps: BillingDeps, userId: string, requestKey: string) {
  const billing = requireBilling(deps)
  return underBillingLock(deps, userId, async () => {
    const row = await requireLive(deps, userId)
    if (!row.cancelAtPeriodEnd) throw new AppError('NOT_CANCELING', 'The subscription is not set to cancel.')
    const updated = await setCancel(deps, billing, userId, row, false, requestKey)
    return { status: updated.status, cancelAtPeriodEnd: false as const }
  })
}

async function setCancel(
  deps: BillingDeps,
  billing: BillingPort,
  userId: string,
  row: SubscriptionRow,
  cancel: boolean,
  requestKey: string,
): Promise<SubscriptionRow> {
  const view = await atStripe(() =>
    billing.setCancelAtPeriodEnd(
      row.stripeSubscriptionId,
      cancel,
      stripeKey(userId, requestKey, cancel ? 'subscription-cancel' : 'subscription-reactivate'),
    ),
  )
  if (view === 'missing') throw noActiveSubscription()
  return (await mirror(deps.store, deps.clock, userId, view, deps.config.stripe)) as SubscriptionRow
}

/** Moves every seat to the other plan, prorated. */
export async function changePlan(deps: BillingDeps, userId: string, plan: PlanType, requestKey: string) {
  const billing = requireBilling(deps)
  return underBillingLock(deps, userId, async () => {
    const row = await requireLive(deps, userId)
    if (row.cancelAtPeriodEnd)
      throw new AppError('SUBSCRIPTION_CANCELING', 'Reactivate the subscription before changing its plan.')
    if (row.planType === plan)
      throw new AppError('SAME_PLAN', `The subscription is already on the ${plan} plan.`)
    const current = await freshSubscription(deps, billing, userId, row)
    const view = await atStripe(() =>
      billing.updateSeats(
        current,
        { priceId: priceOf(deps.config.stripe, plan) },
        stripeKey(userId, requestKey, `plan-${plan}`),
      ),
    )
    if (view === 'missing') throw noActiveSubscription()
    const mirrored = (await mirror(
      deps.store,
      deps.clock,
      userId,
      view,
      deps.config.stripe,
    )) as SubscriptionRow
    return { planType: mirrored.planType, currentPeriodEnd: mirrored.currentPeriodEnd }
  })
}

export async function createSetupIntent(deps: BillingDeps, userId: string, requestKey: string) {
  const billing = requireBilling(deps)
  return underBillingLock(deps, userId, async () => {
    const customerId = await ensureCustomer(deps, billing, await requireUser(deps.store, userId))
    return atStripe(() =>
      billing.createSetupIntent(customerId, stripeKey(userId, requestKey, 'setup-intent')),
    )
  })
}

/** Attaches a card and makes it the default for every invoice; mirrors its summary. */
export async function setPaymentMethod(
  deps: BillingDeps,
  userId: string,
  paymentMethodId: string,
  requestKey: string,
) {
  const billing = requireBilling(deps)
  return underBillingLock(deps, userId, async () => {
    const customerId = await ensureCustomer(deps, billing, await requireUser(deps.store, userId))
    const card = await atStripe(() =>
      billing.setDefaultPaymentMethod(
        customerId,
        paymentMethodId,
        stripeKey(userId, requestKey, 'payment-method'),
      ),
    )
    if (card === 'missing') throw new AppError('PAYMENT_ERROR', 'No such payment method.')
    await saveUser(deps, userId, { paymentMethod: card })
    return { paymentMethodId: card.id }
  })
}

export async function billingPortal(deps: BillingDeps, userId: string, requestKey: string) {
  const billing = requireBilling(deps)
  const customerId = (await requireUser(deps.store, userId)).stripeCustomerId
  if (!customerId) throw new AppError('NO_STRIPE_CUSTOMER', 'The account has no billing customer yet.')
  return atStripe(() =>
    billing.createPortalSession(
      customerId,
      `${deps.config.publicUrl}/`,
      stripeKey(userId, requestKey, 'portal'),
    ),
  )
}

export async function listInvoices(deps: BillingDeps, userId: string): Promise<BillingInvoice[]> {
  const billing = requireBilling(deps)
  const customerId = (await requireUser(deps.store, userId)).stripeCustomerId
  if (!customerId) return []
  return atStripe(() => billing.listInvoices(customerId, INVOICES_SHOWN))
}
