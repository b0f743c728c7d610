import { eq } from 'drizzle-orm'
import { exec, one } from '../../db/query'
import { readTransaction, writeTransaction } from '../../db/store'
import { stripeEvents, users } from '../../db/tables'
import type { BillingEvent } from '../billing/port'
import { atStripe, type BillingDeps, completeCheckout, requireBilling, underBillingLock } from './billing'
import { mirror } from './subscription-mirror'

/** The events that change the local mirror (docs/spec/api-orbit.md); others are acknowledged and ignored. */
export const HANDLED_EVENTS = [
  'checkout.session.completed',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.paid',
  'invoice.payment_failed',
] as const

export type WebhookOutcome = 'processed' | 'duplicate' | 'ignored'

/** Whether the event was handled before, and whose customer it is about (null: nobody's we know). */
function lookUp(deps: BillingDeps, event: BillingEvent) {
  return readTransaction(deps.store, async (tx) => ({
    seen:
      (await one(
        tx.select({ id: stripeEvents.id }).from(stripeEvents).where(eq(stripeEvents.id, event.id)),
      )) !== undefined,
    userId: event.customerId
      ? ((
          await one(
            tx.select({ id: users.id }).from(users).where(eq(users.stripeCustomerId, event.customerId)),
          )
        )?.id ?? null)
      : null,
  }))
}

function remember(deps: BillingDeps, event: BillingEvent) {
  return writeTransaction(deps.store, (tx) =>
    exec(
      tx
        .insert(stripeEvents)
        .values({ id: event.id, type: event.type, receivedAt: deps.clock.now() })
        .onConflictDoNothing(),
    ),
  )
}

/**
 * Applies one verified Stripe event, once per event id. Events may arrive late, twice or out of
 * order, so none is applied as it stands: the subscription it names is read from Stripe and
 * mirrored as it is now. Events about customers we do not know (an erased user's) are acknowledged
 * and ignored. If Stripe cannot be reached the event is not remembered: the error answer makes
 * Stripe deliver it again.
 */
export async function handleStripeEvent(deps: BillingDeps, event: BillingEvent): Promise<WebhookOutcome> {
  const billing = requireBilling(deps)
  const { seen, userId } = await lookUp(deps, event)
  if (seen) return 'duplicate'
  if (!userId || !(HANDLED_EVENTS as readonly string[]).includes(event.type)) {
    await remember(deps, event)
    return 'ignored'
  }
  if (event.type === 'checkout.session.completed') {
    if (event.checkoutSession && event.checkoutSession.metadata.userId === userId)
      await completeCheckout(deps, billing, userId, event.checkoutSession)
  } else if (event.subscriptionId) {
    const subscriptionId = event.subscriptionId
    await underBillingLock(deps, userId, async () => {
      const view = await atStripe(() => billing.retrieveSubscription(subscriptionId))
      if (view !== 'missing' && view.customerId === event.customerId)
        await mirror(deps.store, deps.clock, userId, view, deps.config.stripe)
    })
  }
  await remember(deps, event)
  return 'processed'
}
