import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { principalContext } from '../../plugins/principal'
import { requestKeyOf } from '../../plugins/request-state'
import { routeOptions } from '../../plugins/route-options'
import { EpochSeconds, PlanType, PublicStatus } from '../../projections/api'
import { Int, nullable, oneOf } from '../../projections/schema-helpers'
import { publicSubscriptionStatus } from '../../services/account-overview'
import {
  billingPortal,
  cancelSubscription,
  changePlan,
  createSetupIntent,
  listInvoices,
  reactivateSubscription,
  setPaymentMethod,
  startCheckout,
  startSubscription,
  verifyCheckout,
} from '../../services/billing'
import { apiDoc } from '../openapi'
import { AppParams } from './apps'

const Plan = oneOf(['monthly', 'yearly'], { error: 'must be "monthly" or "yearly"' })
const PlanBody = t.Object({ plan: Plan })
const ReturnUrl = t.String({
  maxLength: 2048,
  pattern: '^https?://[^\\s]+$',
  error: 'must be an http(s) URL',
})
const StripeId = t.String({
  minLength: 1,
  maxLength: 255,
  pattern: '^[A-Za-z0-9_]+$',
  error: 'must be a Stripe id',
})

const SubscriptionState = t.Object({
  subscriptionId: t.String(),
  status: PublicStatus,
  planType: PlanType,
  quantity: Int({ minimum: 0 }),
  cancelAtPeriodEnd: t.Boolean(),
  currentPeriodEnd: nullable(EpochSeconds),
})
const Invoice = t.Object({
  id: t.String(),
  number: nullable(t.String()),
  amount: Int({ description: 'Amount due, in the currency’s minor unit (cents)' }),
  currency: t.String({ examples: ['usd'] }),
  status: nullable(t.String()),
  created: EpochSeconds,
  pdfUrl: nullable(t.String()),
  hostedUrl: nullable(t.String()),
  description: nullable(t.String()),
})

/**
 * /api billing (docs/spec/api-orbit.md "Billing"). With billing off every route answers 403 FORBIDDEN.
 * Statuses are the /api ones (a usable `trialing` reads as `active`).
 */
export const apiBillingRoutes = (deps: AppDeps) =>
  new Elysia({ prefix: '/api' })
    .use(principalContext)
    .use(routeOptions)
    .post(
      '/apps/:appId/create-subscription',
      async ({ principal, params, body, request }) => {
        const started = await startSubscription(
          deps,
          principal.userId,
          params.appId,
          body.plan,
          requestKeyOf(request),
        )
        return { ...started, status: publicSubscriptionStatus(started.status) }
      },
      {
        params: AppParams,
        body: PlanBody,
        ...apiDoc({
          operationId: 'createSubscription',
          summary: 'Start the account’s subscription with this app as its first seat',
          description:
            'Quantity 1. The account’s first subscription starts with the configured trial and needs no card; otherwise the card on file is charged at once. clientSecret is present when Stripe needs the customer to confirm.',
          tag: 'billing',
          ok: {
            200: t.Object({
              subscriptionId: t.String(),
              status: PublicStatus,
              clientSecret: t.Optional(t.String()),
            }),
          },
          errors: [400, 403, 404, 502],
          body: true,
          idempotent: true,
        }),
      },
    )
    .post(
      '/apps/:appId/checkout-session',
      ({ principal, params, body, request }) =>
        startCheckout(
          deps,
          principal.userId,
          params.appId,
          body.plan,
          { successUrl: body.successUrl, cancelUrl: body.cancelUrl },
          requestKeyOf(request),
        ),
      {
        params: AppParams,
        body: t.Object({ plan: Plan, successUrl: t.Optional(ReturnUrl), cancelUrl: t.Optional(ReturnUrl) }),
        ...apiDoc({
          operationId: 'createCheckoutSession',
          summary: 'A Stripe Checkout page that starts the subscription with this app as first seat',
          description:
            'successUrl and cancelUrl default to PUBLIC_URL (with ?checkout=success&session_id=… or ?checkout=canceled). Finish with verify-checkout (or let the checkout.session.completed webhook do it).',
          tag: 'billing',
          ok: { 200: t.Object({ url: t.String(), sessionId: t.String() }) },
          errors: [400, 403, 404, 502],
          body: true,
          idempotent: true,
        }),
      },
    )
    .post(
      '/apps/:appId/verify-checkout',
      async ({ principal, params, body }) => {
        const state = await verifyCheckout(deps, principal.userId, params.appId, body.sessionId)
        return { ...state, status: publicSubscriptionStatus(state.status) }
      },
      {
        params: AppParams,
        body: t.Object({ sessionId: StripeId }),
        ...apiDoc({
          operationId: 'verifyCheckout',
          summary: 'Finalise a completed checkout: the subscription as recorded',
          description:
            '404 for a session that is not this user’s for this app; 400 PAYMENT_ERROR while the checkout is not complete.',
          tag: 'billing',
          ok: { 200: SubscriptionState },
          errors: [400, 403, 404, 502],
          body: true,
          idempotent: true,
        }),
      },
    )
    .post(
      '/cancel-subscription',
      async ({ principal, request }) => {
        const result = await cancelSubscription(deps, principal.userId, requestKeyOf(request))
        return { ...result, status: publicSubscriptionStatus(result.status) }
      },
      {
        ...apiDoc({
          operationId: 'cancelSubscription',
          summary: 'Cancel at the end of the current period',
          tag: 'billing',
          ok: {
            200: t.Object({
              status: PublicStatus,
              cancelAtPeriodEnd: t.Literal(true),
              currentPeriodEnd: nullable(EpochSeconds),
            }),
          },
          errors: [400, 403, 502],
          idempotent: true,
        }),
      },
    )
    .post(
      '/reactivate-subscription',
      async ({ principal, request }) => {
        const result = await reactivateSubscription(deps, principal.userId, requestKeyOf(request))
        return { ...result, status: publicSubscriptionStatus(result.status) }
      },
      {
        ...apiDoc({
          operationId: 'reactivateSubscription',
          summary: 'Undo a pending cancellation',
          tag: 'billing',
          ok: { 200: t.Object({ status: PublicStatus, cancelAtPeriodEnd: t.Literal(false) }) },
          errors: [400, 403, 502],
          idempotent: true,
        }),
      },
    )
    .post(
      '/change-plan',
      ({ principal, body, request }) => changePlan(deps, principal.userId, body.plan, requestKeyOf(request)),
      {
        body: PlanBody,
        ...apiDoc({
          operationId: 'changePlan',
          summary: 'Move every seat to the other plan, prorated',
          tag: 'billing',
          ok: { 200: t.Object({ planType: PlanType, currentPeriodEnd: nullable(EpochSeconds) }) },
          errors: [400, 403, 502],
          body: true,
          idempotent: true,
        }),
      },
    )
    .post(
      '/setup-intent',
      async ({ principal, request, set }) => {
        const intent = await createSetupIntent(deps, principal.userId, requestKeyOf(request))
        set.status = 201
        return intent
      },
      {
        ...apiDoc({
          operationId: 'createSetupIntent',
          summary: 'A SetupIntent for collecting a card with Stripe.js',
          tag: 'billing',
          ok: { 201: t.Object({ clientSecret: t.String() }) },
          errors: [400, 403, 502],
          idempotent: true,
        }),
      },
    )
    .put(
      '/payment-method',
      ({ principal, body, request }) =>
        setPaymentMethod(deps, principal.userId, body.paymentMethodId, requestKeyOf(request)),
      {
        body: t.Object({ paymentMethodId: StripeId }),
        ...apiDoc({
          operationId: 'setPaymentMethod',
          summary: 'Attach a card and make it the default for every invoice',
          tag: 'billing',
          ok: { 200: t.Object({ paymentMethodId: t.String() }) },
          errors: [400, 403, 502],
          body: true,
          idempotent: true,
        }),
      },
    )
    .post(
      '/billing-portal',
      ({ principal, request }) => billingPortal(deps, principal.userId, requestKeyOf(request)),
      {
        ...apiDoc({
          operationId: 'createBillingPortalSession',
          summary: 'A Stripe billing portal session returning to PUBLIC_URL',
          tag: 'billing',
          ok: { 200: t.Object({ url: t.String() }) },
          errors: [403, 404, 502],
          idempotent: true,
        }),
      },
    )
    .get('/invoices', async ({ principal }) => ({ invoices: await listInvoices(deps, principal.userId) }), {
      ...apiDoc({
        operationId: 'listInvoices',
        summary: 'The account’s latest invoices (at most 24), newest first',
        tag: 'billing',
        ok: { 200: t.Object({ invoices: t.Array(Invoice) }) },
        errors: [403, 502],
      }),
    })
