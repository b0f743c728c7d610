import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { decodePageToken, encodePageToken } from '../../lib/page-token'
import { pageResponse } from '../../render/console/layout'
import { actionForm, badge, pager, table, when } from '../../render/console/widgets'
import { html } from '../../render/html'
import {
  type EndpointRow,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  retryDelivery,
  rotateEndpointSecret,
} from '../../services/webhook-endpoints'
import {
  actionOperator,
  audited,
  CsrfOnly,
  HIDDEN,
  noticeOf,
  noticeQuery,
  pageOperator,
  redirectWithNotice,
} from './context'

const PAGE = 50

const endpointState = (e: EndpointRow) =>
  e.status === 'disabled'
    ? badge('disabled', 'bad')
    : e.failingSince !== null
      ? badge('failing', 'bad')
      : badge('enabled', 'ok')

export const consoleWebhookRoutes = (deps: AppDeps) =>
  new Elysia()
    .get(
      '/console/webhooks',
      async ({ request, query }) => {
        const operator = await pageOperator(deps, request)
        if (operator instanceof Response) return operator
        const after = query.after ? decodePageToken(query.after, { at: 'number', id: 'string' }) : null
        const rows = await listEndpoints(deps.store, PAGE + 1, after)
        const page = rows.slice(0, PAGE)
        const last = page.at(-1)
        return pageResponse({
          title: 'Webhooks',
          section: 'webhooks',
          operator,
          notice: noticeOf(query),
          body: html`<h1>Webhook endpoints</h1>
            <p>Endpoints are created and changed through <code>/v1/webhook-endpoints</code> or <code>custodian webhooks</code>; here you watch them, retry deliveries and rotate secrets.</p>
            ${table(
              'Endpoints, newest first',
              ['Endpoint', 'URL', 'State', 'Failing since', 'Events', 'Processor'],
              page.map((e) => [
                html`<a href="${`/console/webhooks/${e.id}`}"><code>${e.id}</code></a>`,
                html`<code>${e.url}</code>`,
                endpointState(e),
                when(e.failingSince),
                e.events.join(', '),
                e.processor ? 'yes' : 'no',
              ]),
              'No webhook endpoints.',
            )}
            ${pager('/console/webhooks', {}, rows.length > PAGE && last ? encodePageToken({ at: last.createdAt, id: last.id }) : null)}`,
        })
      },
      {
        query: t.Object({
          after: t.Optional(t.String({ maxLength: 512 })),
          ...noticeQuery,
        }),
        ...HIDDEN,
      },
    )
    .get(
      '/console/webhooks/:id',
      async ({ request, params, query }) => {
        const operator = await pageOperator(deps, request)
        if (operator instanceof Response) return operator
        const endpoint = await getEndpoint(deps.store, params.id)
        const rows = await listDeliveries(deps.store, endpoint.id, PAGE + 1, query.after ?? null)
        const page = rows.slice(0, PAGE)
        const base = `/console/webhooks/${endpoint.id}`
        return pageResponse({
          title: `Endpoint ${endpoint.id}`,
          section: 'webhooks',
          operator,
          notice: noticeOf(query),
          body: html`<h1>Endpoint <code>${endpoint.id}</code></h1>
            <dl class="facts">
              <dt>URL</dt><dd><code>${endpoint.url}</code></dd>
              <dt>State</dt><dd>${endpointState(endpoint)}${endpoint.disabledReason ? ` — ${endpoint.disabledReason}` : ''}</dd>
              <dt>Events</dt><dd>${endpoint.events.join(', ')}</dd>
              <dt>Format</dt><dd>${endpoint.format}</dd>
              <dt>Secret</dt><dd>sealed${endpoint.previousSecretUntil && endpoint.previousSecretUntil > deps.clock.now() ? html`; the previous one also signs until ${when(endpoint.previousSecretUntil)}` : ''}</dd>
            </dl>
            ${actionForm(`${base}/rotate-secret`, operator.csrf, 'Rotate the signing secret', [], { danger: true })}
            ${table(
              'Deliveries, newest first',
              ['Delivery', 'Event', 'Status', 'Attempts', 'Last answer', 'Next attempt', ''],
              page.map((d) => [
                html`<code>${d.id}</code>`,
                d.eventType,
                badge(d.status, d.status === 'succeeded' ? 'ok' : d.status === 'failed' ? 'bad' : 'warn'),
                d.attempts,
                d.lastStatusCode ?? d.lastError,
                d.status === 'pending' ? when(d.nextAttemptAt) : null,
                d.status === 'failed'
                  ? actionForm(`/console/deliveries/${d.id}/retry`, operator.csrf, `Retry ${d.id}`)
                  : null,
              ]),
              'No deliveries (kept 30 days).',
            )}
            ${pager(base, {}, rows.length > PAGE ? (page.at(-1)?.id ?? null) : null)}`,
        })
      },
      {
        params: t.Object({ id: t.String({ maxLength: 100 }) }),
        query: t.Object({
          after: t.Optional(t.String({ maxLength: 100 })),
          ...noticeQuery,
        }),
        ...HIDDEN,
      },
    )
    .post(
      '/console/deliveries/:id/retry',
      async ({ request, params, body }) => {
        const operator = await actionOperator(deps, request, body)
        const delivery = await retryDelivery(deps, params.id)
        await audited(deps, operator, 'console.delivery_retried', { kind: 'delivery', id: delivery.id })
        return redirectWithNotice(
          `/console/webhooks/${delivery.endpointId}`,
          `Delivery ${delivery.id} will be sent again now.`,
        )
      },
      { params: t.Object({ id: t.String({ maxLength: 100 }) }), body: CsrfOnly, ...HIDDEN },
    )
    .post(
      '/console/webhooks/:id/rotate-secret',
      async ({ request, params, body }) => {
        const operator = await actionOperator(deps, request, body)
        const { row, secret } = await rotateEndpointSecret(deps, params.id)
        await audited(deps, operator, 'console.secret_rotated', { kind: 'endpoint', id: row.id })
        // The new secret is shown once, on this answer only (not stored in the clear, not cached).
        return pageResponse({
          title: 'New signing secret',
          section: 'webhooks',
          operator,
          body: html`<h1>New signing secret for <code>${row.id}</code></h1>
            <p class="notice" role="status">Copy it now: it is not shown again. The previous secret keeps signing (alongside) until ${when(row.previousSecretUntil)}.</p>
            <p><code>${secret}</code></p>
            <p><a href="${`/console/webhooks/${row.id}`}">Back to the endpoint</a></p>`,
        })
      },
      { params: t.Object({ id: t.String({ maxLength: 100 }) }), body: CsrfOnly, ...HIDDEN },
    )
