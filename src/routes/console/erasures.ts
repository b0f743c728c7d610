import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { AppError } from '../../errors'
import { decodePageToken, encodePageToken } from '../../lib/page-token'
import { pageResponse } from '../../render/console/layout'
import { badge, pager, table, when } from '../../render/console/widgets'
import { html } from '../../render/html'
import {
  type ErasureState,
  erasureDetail,
  listErasures,
  verifyStoredCertificate,
} from '../../services/console/erasures'
import { certificateOf } from '../../services/erasure-certificates'
import { HIDDEN, noticeOf, noticeQuery, pageOperator } from './context'

const STATES: [ErasureState, string][] = [
  ['all', 'All'],
  ['running', 'In progress'],
  ['incomplete', 'Incomplete'],
  ['blocked_legal_hold', 'Blocked by a hold'],
  ['done', 'Done'],
]

const stepBadge = (step: string) =>
  badge(
    step,
    step === 'done' ? 'ok' : step === 'incomplete' || step === 'blocked_legal_hold' ? 'bad' : 'warn',
  )

export const consoleErasureRoutes = (deps: AppDeps) =>
  new Elysia()
    .get(
      '/console/erasures',
      async ({ request, query }) => {
        const operator = await pageOperator(deps, request)
        if (operator instanceof Response) return operator
        const state = (STATES.find(([s]) => s === query.state)?.[0] ?? 'all') as ErasureState
        const before = query.after ? decodePageToken(query.after, { at: 'number', id: 'string' }) : null
        const page = await listErasures(deps.store, state, 50, before)
        return pageResponse({
          title: 'Erasures',
          section: 'erasures',
          operator,
          notice: noticeOf(query),
          body: html`<h1>Erasures</h1>
            <nav aria-label="Filter erasures"><ul class="filters">${STATES.map(
              ([s, label]) =>
                html`<li><a href="${`/console/erasures?state=${s}`}" ${s === state ? html`aria-current="true"` : ''}>${label}</a></li>`,
            )}</ul></nav>
            ${table(
              'Receipts, newest first (no personal data: accounts appear by pseudonym)',
              ['Receipt', 'Step', 'Mode', 'Requested', 'Completed', 'Attempts', 'Verification'],
              page.rows.map((r) => [
                html`<a href="${`/console/erasures/${r.id}`}"><code>${r.id}</code></a>`,
                stepBadge(r.step),
                r.mode,
                when(r.requestedAt),
                when(r.completedAt),
                r.attempts,
                r.verification
                  ? r.verification.clean
                    ? badge('clean', 'ok')
                    : badge('found remains', 'bad')
                  : null,
              ]),
              'No erasures.',
            )}
            ${pager('/console/erasures', { state }, page.next ? encodePageToken(page.next) : null)}`,
        })
      },
      {
        query: t.Object({
          state: t.Optional(t.String({ maxLength: 30 })),
          after: t.Optional(t.String({ maxLength: 512 })),
          ...noticeQuery,
        }),
        ...HIDDEN,
      },
    )
    .get(
      '/console/erasures/:id',
      async ({ request, params, query }) => {
        const operator = await pageOperator(deps, request)
        if (operator instanceof Response) return operator
        const found = await erasureDetail(deps.store, params.id)
        if (!found) throw new AppError('NOT_FOUND', 'No such erasure.')
        const { receipt: r, processors, certificate } = found
        const v = r.verification
        const check =
          query.verify === '1' && certificate ? await verifyStoredCertificate(deps.store, r.id) : null
        return pageResponse({
          title: `Erasure ${r.id}`,
          section: 'erasures',
          operator,
          notice: noticeOf(query),
          body: html`<h1>Erasure <code>${r.id}</code></h1>
            <dl class="facts">
              <dt>Step</dt><dd>${stepBadge(r.step)}</dd>
              <dt>Account (pseudonym)</dt><dd><code>${r.userHash}</code></dd>
              <dt>Mode</dt><dd>${r.mode}</dd>
              <dt>Requested</dt><dd>${when(r.requestedAt)}</dd>
              <dt>Completed</dt><dd>${when(r.completedAt)}</dd>
              <dt>Attempts</dt><dd>${r.attempts}${r.nextAttemptAt && r.step !== 'done' ? html`, next ${when(r.nextAttemptAt)}` : ''}</dd>
              ${r.lastError ? html`<dt>Last error</dt><dd>${r.lastError}</dd>` : ''}
              <dt>Stripe</dt><dd>${r.stripeActions?.length ? r.stripeActions.join(', ') : 'nothing to stop'}</dd>
            </dl>
            ${table(
              'Rows erased',
              ['Table', 'Rows'],
              Object.entries(r.counts ?? {})
                .filter(([, n]) => n > 0)
                .map(([name, n]) => [html`<code>${name}</code>`, n]),
              'Not erased yet.',
            )}
            <section class="panel" aria-labelledby="verification-h">
              <h2 id="verification-h">Verification</h2>
              ${
                v
                  ? html`<p>${v.clean ? badge('clean', 'ok') : badge('found remains', 'bad')} checked ${when(v.checkedAt)}:
                    ${v.identifiers} identifiers asked of every owned table (${Object.values(v.tables).reduce((a, b) => a + b, 0)} rows found),
                    ${v.bytesScanned.toLocaleString('en-US')} bytes of database files read (${v.byteMatches} matches),
                    ${v.storagePathsChecked} stored paths listed (${v.storageMatches} matches).</p>`
                  : html`<p class="empty">Not verified yet (it runs once the data is erased).</p>`
              }
            </section>
            <section class="panel" aria-labelledby="certificate-h">
              <h2 id="certificate-h">Certificate</h2>
              ${
                certificate
                  ? html`<p>Number ${certificate.seq} of the chain, issued ${when(certificate.createdAt)}; hash <code>${certificate.hash}</code>.</p>
                    <p><a href="${`/console/erasures/${r.id}/certificate`}" download>Download the certificate</a> ·
                    <a href="${`/console/erasures/${r.id}?verify=1`}">Verify it</a></p>
                    ${
                      check
                        ? html`<p class="${check.ok ? 'notice' : 'error'}" role="status">${check.ok ? 'Valid: ' : 'Invalid: '}${check.reasons.join('; ')}.</p>`
                        : ''
                    }`
                  : html`<p class="empty">Issued when the erasure is done and verified clean.</p>`
              }
            </section>
            ${table(
              'Processors',
              ['Endpoint', 'Status', 'Asked', 'Delivered', 'Acknowledged'],
              processors.map((p) => [
                html`<code>${p.endpointId}</code>`,
                badge(p.status, p.status === 'acknowledged' ? 'ok' : 'warn'),
                when(p.requestedAt),
                when(p.deliveredAt),
                when(p.acknowledgedAt),
              ]),
              'No processor endpoints were told of this erasure.',
            )}`,
        })
      },
      {
        params: t.Object({ id: t.String({ maxLength: 100 }) }),
        query: t.Object({
          verify: t.Optional(t.String({ maxLength: 2 })),
          ...noticeQuery,
        }),
        ...HIDDEN,
      },
    )
    .get(
      '/console/erasures/:id/certificate',
      async ({ request, params }) => {
        const operator = await pageOperator(deps, request)
        if (operator instanceof Response) return operator
        const document = await certificateOf(deps.store, params.id)
        if (!document) throw new AppError('NOT_FOUND', 'No certificate for this erasure (yet).')
        return new Response(document, {
          headers: {
            'content-type': 'application/json',
            'content-disposition': `attachment; filename="erasure-certificate-${params.id.replace(/[^\w-]/g, '')}.json"`,
            'cache-control': 'no-store',
            'x-content-type-options': 'nosniff',
          },
        })
      },
      { params: t.Object({ id: t.String({ maxLength: 100 }) }), ...HIDDEN },
    )
