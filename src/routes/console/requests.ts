import { Elysia, t } from 'elysia'
import type { RequestStatus } from '../../../db/schema'
import type { AppDeps } from '../../deps'
import { AppError } from '../../errors'
import { DAY } from '../../lib/clock'
import { decodePageToken, encodePageToken } from '../../lib/page-token'
import { pageResponse } from '../../render/console/layout'
import { actionForm, badge, field, pager, select, table, when } from '../../render/console/widgets'
import { html } from '../../render/html'
import {
  type DataRequestRow,
  getRequest,
  isOverdue,
  listRequests,
  REQUEST_STATUSES,
  type Transition,
  transitionRequest,
} from '../../services/data-requests'
import {
  actionOperator,
  audited,
  csrfField,
  HIDDEN,
  noticeOf,
  noticeQuery,
  pageOperator,
  redirectWithNotice,
} from './context'

const TRANSITIONS: Transition[] = ['verify-identity', 'start', 'extend', 'fulfil', 'refuse', 'withdraw']

const clock = (row: DataRequestRow, now: number) => {
  if (['fulfilled', 'refused', 'withdrawn'].includes(row.status)) return badge('closed', 'muted')
  if (isOverdue(row, now)) return badge(`overdue by ${Math.ceil((now - row.dueAt) / DAY)} d`, 'bad')
  if (row.pausedSince !== null) return badge('clock paused (identity)', 'muted')
  const left = Math.ceil((row.dueAt - now) / DAY)
  return badge(`${left} d left`, left <= 7 ? 'warn' : 'ok')
}

export const consoleRequestRoutes = (deps: AppDeps) =>
  new Elysia()
    .get(
      '/console/requests',
      async ({ request, query }) => {
        const operator = await pageOperator(deps, request)
        if (operator instanceof Response) return operator
        const now = deps.clock.now()
        const status = REQUEST_STATUSES.find((s) => s === query.status) as RequestStatus | undefined
        const after = query.after ? decodePageToken(query.after, { at: 'number', id: 'string' }) : null
        const page = await listRequests(
          deps,
          {
            status,
            overdue: query.due === 'overdue',
            dueBefore: query.due === '7d' ? now + 7 * DAY : undefined,
          },
          50,
          after ? { dueAt: after.at, id: after.id } : null,
        )
        const last = page.rows.at(-1)
        const filters: [string, string][] = [
          ['', 'All'],
          ['due=7d', 'Due in 7 days'],
          ['due=overdue', 'Overdue'],
          ...REQUEST_STATUSES.map((s): [string, string] => [`status=${s}`, s.replace('_', ' ')]),
        ]
        const current = query.due ? `due=${query.due}` : status ? `status=${status}` : ''
        return pageResponse({
          title: 'Requests',
          section: 'requests',
          operator,
          notice: noticeOf(query),
          body: html`<h1>Data-subject requests</h1>
            <nav aria-label="Filter requests"><ul class="filters">${filters.map(
              ([q, label]) =>
                html`<li><a href="${`/console/requests${q ? `?${q}` : ''}`}" ${q === current ? html`aria-current="true"` : ''}>${label}</a></li>`,
            )}</ul></nav>
            ${table(
              'The case log, soonest deadline first',
              ['Request', 'Type', 'Status', 'Received', 'Due', 'Clock', 'Account'],
              page.rows.map((r) => [
                html`<a href="${`/console/requests/${r.id}`}"><code>${r.id.slice(0, 8)}…</code></a>`,
                r.type,
                r.status.replace('_', ' '),
                when(r.receivedAt),
                when(r.dueAt),
                clock(r, now),
                r.userId
                  ? html`<a href="${`/console/accounts/${r.userId}`}">account</a>`
                  : r.email
                    ? 'by email'
                    : 'pseudonymised',
              ]),
              'No requests.',
            )}
            ${pager(
              '/console/requests',
              { status: status ?? null, due: query.due ?? null },
              page.hasMore && last ? encodePageToken({ at: last.dueAt, id: last.id }) : null,
            )}`,
        })
      },
      {
        query: t.Object({
          status: t.Optional(t.String({ maxLength: 30 })),
          due: t.Optional(t.Union([t.Literal('7d'), t.Literal('overdue')])),
          after: t.Optional(t.String({ maxLength: 512 })),
          ...noticeQuery,
        }),
        ...HIDDEN,
      },
    )
    .get(
      '/console/requests/:id',
      async ({ request, params, query }) => {
        const operator = await pageOperator(deps, request)
        if (operator instanceof Response) return operator
        const r = await getRequest(deps, params.id)
        if (!r) throw new AppError('NOT_FOUND', 'No such request.')
        const now = deps.clock.now()
        const base = `/console/requests/${r.id}`
        const open = !['fulfilled', 'refused', 'withdrawn'].includes(r.status)
        const csrf = operator.csrf
        return pageResponse({
          title: `Request ${r.id}`,
          section: 'requests',
          operator,
          notice: noticeOf(query),
          body: html`<h1>${r.type} request</h1>
            <dl class="facts">
              <dt>Id</dt><dd><code>${r.id}</code></dd>
              <dt>Status</dt><dd>${r.status.replace('_', ' ')} ${clock(r, now)}</dd>
              <dt>Account</dt><dd>${r.userId ? html`<a href="${`/console/accounts/${r.userId}`}"><code>${r.userId}</code></a>` : r.email ? r.email : 'pseudonymised'}</dd>
              <dt>Channel</dt><dd>${r.channel}</dd>
              <dt>Received</dt><dd>${when(r.receivedAt)}</dd>
              <dt>Due</dt><dd>${when(r.dueAt)}${r.pausedDays ? ` (${r.pausedDays} paused days added)` : ''}</dd>
              ${r.extendedMonths ? html`<dt>Extended</dt><dd>${r.extendedMonths} month(s): ${r.extensionReason}</dd>` : ''}
              ${r.closedAt ? html`<dt>Closed</dt><dd>${when(r.closedAt)}${r.outcomeReason ? `: ${r.outcomeReason}` : ''}</dd>` : ''}
              ${r.exportId ? html`<dt>Export</dt><dd><code>${r.exportId}</code></dd>` : ''}
              ${r.erasureId ? html`<dt>Erasure</dt><dd><a href="${`/console/erasures/${r.erasureId}`}"><code>${r.erasureId}</code></a></dd>` : ''}
              ${r.note ? html`<dt>Note</dt><dd>${r.note}</dd>` : ''}
            </dl>
            ${
              open
                ? html`<section class="panel" aria-labelledby="moves-h">
                    <h2 id="moves-h">Move the case</h2>
                    ${
                      r.status === 'identity_pending'
                        ? actionForm(
                            `${base}/verify-identity`,
                            csrf,
                            'Identity verified',
                            html`<input type="hidden" name="verified" value="true">`,
                          )
                        : actionForm(
                            `${base}/verify-identity`,
                            csrf,
                            'Ask for proof of identity (pauses the clock)',
                            html`<input type="hidden" name="verified" value="false">`,
                          )
                    }
                    ${r.status === 'received' ? actionForm(`${base}/start`, csrf, 'Start') : ''}
                    ${actionForm(`${base}/withdraw`, csrf, 'Withdrawn by the person')}
                    <form method="post" action="${`${base}/extend`}" class="stack">
                      <input type="hidden" name="csrf" value="${csrf}">
                      ${select(
                        'months',
                        'Extend by',
                        [
                          ['1', '1 month'],
                          ['2', '2 months'],
                        ],
                        '1',
                        'extend-months',
                      )}
                      ${field('reason', 'Why (told to the person)', { required: true, maxLength: 1000, id: 'extend-reason' })}
                      <button type="submit">Extend the deadline</button>
                    </form>
                    <form method="post" action="${`${base}/fulfil`}" class="stack">
                      <input type="hidden" name="csrf" value="${csrf}">
                      ${field('export_id', 'Export archive id (access, portability)', { maxLength: 100, id: 'fulfil-export' })}
                      ${field('erasure_id', 'Erasure id (erasure)', { maxLength: 100, id: 'fulfil-erasure' })}
                      <button type="submit">Fulfilled</button>
                    </form>
                    <form method="post" action="${`${base}/refuse`}" class="stack">
                      <input type="hidden" name="csrf" value="${csrf}">
                      ${field('reason', 'Why it is refused', { required: true, maxLength: 1000, id: 'refuse-reason' })}
                      <button type="submit" class="danger">Refuse</button>
                    </form>
                  </section>`
                : html`<p class="empty">A closed case does not move again.</p>`
            }`,
        })
      },
      {
        params: t.Object({ id: t.String({ maxLength: 100 }) }),
        query: t.Object({ ...noticeQuery }),
        ...HIDDEN,
      },
    )
    .post(
      '/console/requests/:id/:transition',
      async ({ request, params, body }) => {
        const operator = await actionOperator(deps, request, body)
        const transition = TRANSITIONS.find((x) => x === params.transition)
        if (!transition) throw new AppError('NOT_FOUND', `No such move: ${params.transition}.`)
        const row = await transitionRequest(deps, params.id, transition, {
          verified: body.verified === undefined ? undefined : body.verified === 'true',
          months: body.months ? Number(body.months) : undefined,
          reason: body.reason?.trim() || null,
          exportId: body.export_id?.trim() || null,
          erasureId: body.erasure_id?.trim() || null,
        })
        await audited(deps, operator, 'console.request_transitioned', {
          ...(row.userId ? { account: row.userId } : {}),
          kind: 'request',
          id: row.id,
          detail: { transition, status: row.status },
        })
        return redirectWithNotice(
          `/console/requests/${row.id}`,
          `Request is now ${row.status.replace('_', ' ')}.`,
        )
      },
      {
        params: t.Object({ id: t.String({ maxLength: 100 }), transition: t.String({ maxLength: 30 }) }),
        body: t.Object({
          ...csrfField,
          verified: t.Optional(t.String({ maxLength: 5 })),
          months: t.Optional(t.String({ maxLength: 2 })),
          reason: t.Optional(t.String({ maxLength: 1000 })),
          export_id: t.Optional(t.String({ maxLength: 100 })),
          erasure_id: t.Optional(t.String({ maxLength: 100 })),
        }),
        ...HIDDEN,
      },
    )
