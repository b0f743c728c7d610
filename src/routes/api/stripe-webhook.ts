import { Elysia, t } from 'elysia'
import { WebhookSignatureError } from '../../billing/port'
import type { AppDeps } from '../../deps'
import { AppError } from '../../errors'
import { bodyBytesOf } from '../../plugins/body-guard'
import { requireBilling } from '../../services/billing'
import { handleStripeEvent } from '../../services/stripe-webhooks'
import { apiDoc } from '../openapi'

/**
 * Stripe's webhook: public (the signature is the credential), exempt from rate limits, raw body
 * (the signature covers the exact bytes, so nothing may parse them first).
 */
export const stripeWebhookRoutes = (deps: AppDeps) =>
  new Elysia().post(
    '/api/webhooks/stripe',
    async ({ request }) => {
      const billing = requireBilling(deps)
      const secret = deps.config.stripe.webhookSecret
      if (!secret)
        throw new AppError(
          'FEATURE_UNAVAILABLE',
          'Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET).',
        )
      const signature = request.headers.get('stripe-signature')
      if (!signature) throw new AppError('INVALID_REQUEST', 'The Stripe-Signature header is missing.')
      const payload = new TextDecoder().decode(bodyBytesOf(request))
      let event: Awaited<ReturnType<typeof billing.parseWebhook>>
      try {
        event = await billing.parseWebhook(payload, signature, secret, deps.clock.now())
      } catch (error) {
        if (error instanceof WebhookSignatureError)
          throw new AppError('INVALID_REQUEST', 'The Stripe signature does not verify; nothing was changed.')
        throw error
      }
      return { received: true as const, outcome: await handleStripeEvent(deps, event) }
    },
    {
      parse: 'none',
      ...apiDoc({
        operationId: 'stripeWebhook',
        summary: 'Stripe events (signed with STRIPE_WEBHOOK_SECRET)',
        description:
          'Handles checkout.session.completed, customer.subscription.updated/deleted, invoice.paid and invoice.payment_failed by re-reading the subscription from Stripe; each event id once; events for unknown (erased) customers are acknowledged and ignored. A bad signature is 400 and changes nothing; when Stripe cannot be reached to re-read, 502 so Stripe delivers again.',
        tag: 'billing',
        ok: {
          200: t.Object({
            received: t.Literal(true),
            outcome: t.Union([t.Literal('processed'), t.Literal('duplicate'), t.Literal('ignored')]),
          }),
        },
        errors: [400, 403, 502],
        public: true,
      }),
    },
  )
