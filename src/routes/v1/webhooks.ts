import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { decodePageToken, encodePageToken } from '../../lib/page-token'
import { securityEventJwks } from '../../lib/security-event-key'
import { principalContext } from '../../plugins/principal'
import { markSecretResponse } from '../../plugins/request-state'
import { nullable } from '../../projections/schema-helpers'
import {
  projectDeliveryForV1,
  projectEndpointForV1,
  projectProcessorForV1,
  V1ErasureProcessor,
  V1WebhookDelivery,
  V1WebhookEndpoint,
  V1WebhookEndpointWithSecret,
} from '../../projections/webhooks'
import { acknowledgeErasure } from '../../services/erasure-processors'
import { EVENT_TYPES } from '../../services/events'
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  retryDelivery,
  rotateEndpointSecret,
  updateEndpoint,
} from '../../services/webhook-endpoints'
import { v1Doc, v1DocEmpty } from '../openapi'

const EventName = t.Union([t.Literal('*'), ...EVENT_TYPES.map((type) => t.Literal(type))], {
  error: `must be one of ${EVENT_TYPES.join(', ')} or *`,
})
const Events = t.Array(EventName, { minItems: 1, maxItems: EVENT_TYPES.length + 1 })
const Url = t.String({ minLength: 1, maxLength: 2048 })
const Description = nullable(t.String({ maxLength: 500 }))
const EndpointParams = t.Object({ endpoint_id: t.String({ maxLength: 100 }) })
const Paging = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 200 })),
  next_token: t.Optional(t.String({ maxLength: 512 })),
})

/** Webhook endpoints (operators) and the processors' erasure acknowledgements (capability URLs). */
export const v1WebhookRoutes = (deps: AppDeps) => {
  const { store, clock } = deps
  return new Elysia()
    .use(principalContext)
    .post(
      '/v1/admin/webhook-endpoints',
      async ({ body, set, request }) => {
        markSecretResponse(request)
        const { row, secret } = await createEndpoint(deps, body)
        set.status = 201
        return { ...projectEndpointForV1(row), secret }
      },
      {
        body: t.Object({
          url: Url,
          events: Events,
          processor: t.Optional(t.Boolean()),
          format: t.Optional(t.Union([t.Literal('standard'), t.Literal('set')])),
          description: t.Optional(Description),
        }),
        ...v1Doc({
          operationId: 'adminCreateWebhookEndpoint',
          summary: 'Register a webhook endpoint; its signing secret is shown once',
          tag: 'webhooks',
          ok: { 201: V1WebhookEndpointWithSecret },
          errors: [400, 403],
          body: true,
          idempotent: true,
        }),
      },
    )
    .get(
      '/v1/admin/webhook-endpoints',
      async ({ query }) => {
        const after = query.next_token
          ? decodePageToken(query.next_token, { at: 'number', id: 'string' })
          : null
        const limit = query.limit ?? 50
        const rows = await listEndpoints(store, limit + 1, after)
        const page = rows.slice(0, limit)
        const last = page.at(-1)
        return {
          webhook_endpoints: page.map(projectEndpointForV1),
          next_token:
            rows.length > limit && last ? encodePageToken({ at: last.createdAt, id: last.id }) : null,
        }
      },
      {
        query: Paging,
        ...v1Doc({
          operationId: 'adminListWebhookEndpoints',
          summary: 'Webhook endpoints, newest first',
          tag: 'webhooks',
          ok: {
            200: t.Object({
              webhook_endpoints: t.Array(V1WebhookEndpoint),
              next_token: nullable(t.String()),
            }),
          },
          errors: [400, 403],
        }),
      },
    )
    .get(
      '/v1/admin/webhook-endpoints/:endpoint_id',
      async ({ params }) => projectEndpointForV1(await getEndpoint(store, params.endpoint_id)),
      {
        params: EndpointParams,
        ...v1Doc({
          operationId: 'adminGetWebhookEndpoint',
          summary: 'One webhook endpoint',
          tag: 'webhooks',
          ok: { 200: V1WebhookEndpoint },
          errors: [403, 404],
        }),
      },
    )
    .patch(
      '/v1/admin/webhook-endpoints/:endpoint_id',
      async ({ params, body }) => projectEndpointForV1(await updateEndpoint(deps, params.endpoint_id, body)),
      {
        params: EndpointParams,
        body: t.Object({
          url: t.Optional(Url),
          events: t.Optional(Events),
          description: t.Optional(Description),
          status: t.Optional(t.Union([t.Literal('enabled'), t.Literal('disabled')])),
        }),
        ...v1Doc({
          operationId: 'adminUpdateWebhookEndpoint',
          summary: 'Change the URL or events, or enable/disable an endpoint',
          tag: 'webhooks',
          ok: { 200: V1WebhookEndpoint },
          errors: [400, 403, 404],
          body: true,
          idempotent: true,
        }),
      },
    )
    .delete(
      '/v1/admin/webhook-endpoints/:endpoint_id',
      async ({ params }) => {
        await deleteEndpoint(store, params.endpoint_id)
        return new Response(null, { status: 204 })
      },
      {
        params: EndpointParams,
        ...v1DocEmpty({
          operationId: 'adminDeleteWebhookEndpoint',
          summary: 'Remove an endpoint (its pending deliveries are dropped)',
          tag: 'webhooks',
          ok: { 204: null },
          errors: [403, 404],
          idempotent: true,
        }),
      },
    )
    .post(
      '/v1/admin/webhook-endpoints/:endpoint_id/rotate-secret',
      async ({ params, request }) => {
        markSecretResponse(request)
        const { row, secret } = await rotateEndpointSecret(deps, params.endpoint_id)
        return { ...projectEndpointForV1(row), secret }
      },
      {
        params: EndpointParams,
        ...v1Doc({
          operationId: 'adminRotateWebhookSecret',
          summary: 'A new signing secret; the old one keeps signing beside it for 24 hours',
          tag: 'webhooks',
          ok: { 200: V1WebhookEndpointWithSecret },
          errors: [403, 404],
          idempotent: true,
        }),
      },
    )
    .get(
      '/v1/admin/webhook-endpoints/:endpoint_id/deliveries',
      async ({ params, query }) => {
        const before = query.next_token ? decodePageToken(query.next_token, { id: 'string' }).id : null
        const limit = query.limit ?? 50
        const rows = await listDeliveries(store, params.endpoint_id, limit + 1, before)
        const page = rows.slice(0, limit)
        const last = page.at(-1)
        return {
          deliveries: page.map(projectDeliveryForV1),
          next_token: rows.length > limit && last ? encodePageToken({ id: last.id }) : null,
        }
      },
      {
        params: EndpointParams,
        query: Paging,
        ...v1Doc({
          operationId: 'adminListWebhookDeliveries',
          summary: "An endpoint's deliveries, newest first",
          tag: 'webhooks',
          ok: { 200: t.Object({ deliveries: t.Array(V1WebhookDelivery), next_token: nullable(t.String()) }) },
          errors: [400, 403, 404],
        }),
      },
    )
    .post(
      '/v1/admin/webhook-endpoints/deliveries/:delivery_id/retry',
      async ({ params }) => projectDeliveryForV1(await retryDelivery(deps, params.delivery_id)),
      {
        params: t.Object({ delivery_id: t.String({ maxLength: 100 }) }),
        ...v1Doc({
          operationId: 'adminRetryWebhookDelivery',
          summary: 'Send a pending or failed delivery again now',
          tag: 'webhooks',
          ok: { 200: V1WebhookDelivery },
          errors: [403, 404, 409],
          idempotent: true,
        }),
      },
    )
    .get('/.well-known/custodian/security-event-keys', () => securityEventJwks(), {
      detail: {
        operationId: 'securityEventKeys',
        summary: 'Public keys (JWKS) that verify the Security Event Tokens sent to format "set" endpoints',
        tags: ['/v1 webhooks'],
        security: [],
        responses: { 200: { description: 'A JWK Set (EdDSA, Ed25519)' } },
      },
    })
    .post(
      '/v1/erasure-acknowledgements/:token',
      async ({ params }) => projectProcessorForV1(await acknowledgeErasure(store, clock, params.token)),
      {
        params: t.Object({ token: t.String({ maxLength: 100 }) }),
        ...v1Doc({
          operationId: 'acknowledgeErasure',
          summary:
            "A processor's acknowledgement that it erased the account (the link in account.erasure_requested; no credential)",
          tag: 'webhooks',
          ok: { 200: V1ErasureProcessor },
          errors: [400, 404, 413],
          public: true,
        }),
      },
    )
}
