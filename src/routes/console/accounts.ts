import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { AppError } from '../../errors'
import { pageResponse } from '../../render/console/layout'
import { actionForm, badge, field, pager, select, table, when } from '../../render/console/widgets'
import { html } from '../../render/html'
import { type AccountDetail, accountDetail, searchAccounts } from '../../services/console/accounts'
import { quotaTierChoices } from '../../services/console/usage'
import { downloadUrl } from '../../services/export-archives'
import { HIDDEN, noticeOf, noticeQuery, pageOperator } from './context'

const PAGE = 50

const keyState = (key: AccountDetail['keys'][number], now: number) =>
  key.revokedAt !== null || !key.isActive
    ? badge('revoked', 'muted')
    : key.expiresAt !== null && key.expiresAt <= now
      ? badge('expired', 'muted')
      : badge('active', 'ok')

export const consoleAccountRoutes = (deps: AppDeps) =>
  new Elysia()
    .get(
      '/console/accounts',
      async ({ request, query }) => {
        const operator = await pageOperator(deps, request)
        if (operator instanceof Response) return operator
        const q = query.q ?? ''
        const filter = query.filter === 'scheduled' ? 'scheduled' : 'all'
        const found = await searchAccounts(deps.store, q, filter, PAGE, query.after ?? null)
        const row = (u: (typeof found.rows)[number]) => [
          html`<a href="${`/console/accounts/${u.id}`}">${u.email}</a>`,
          html`<code>${u.id}</code>`,
          when(u.createdAt),
          u.deleteScheduledAt !== null
            ? html`${badge('scheduled', 'warn')} ${when(u.deleteScheduledAt)}`
            : u.isOperator
              ? badge('operator', 'ok')
              : badge('active', 'ok'),
        ]
        return pageResponse({
          title: 'Accounts',
          section: 'accounts',
          operator,
          notice: noticeOf(query),
          body: html`<h1>${filter === 'scheduled' ? 'Accounts scheduled for deletion' : 'Accounts'}</h1>
            <form method="get" action="/console/accounts" class="search" role="search">
              <label for="q">Email, account id, custom domain or key prefix</label>
              <input id="q" name="q" type="search" value="${q}" maxlength="254">
              <button type="submit">Search</button>
            </form>
            ${found.exact.length ? table('Exact matches', ['Email', 'Id', 'Created', 'State'], found.exact.map(row)) : ''}
            ${table(
              q
                ? `Emails containing “${q}”`
                : filter === 'scheduled'
                  ? 'Scheduled, soonest first'
                  : 'All accounts, oldest first',
              ['Email', 'Id', 'Created', 'State'],
              found.rows.map(row),
              'No accounts match.',
            )}
            ${pager('/console/accounts', { q, filter: filter === 'all' ? null : filter }, found.next)}`,
        })
      },
      {
        query: t.Object({
          q: t.Optional(t.String({ maxLength: 254 })),
          filter: t.Optional(t.String({ maxLength: 20 })),
          after: t.Optional(t.String({ maxLength: 200 })),
          ...noticeQuery,
        }),
        ...HIDDEN,
      },
    )
    .get(
      '/console/accounts/:id',
      async ({ request, params, query }) => {
        const operator = await pageOperator(deps, request)
        if (operator instanceof Response) return operator
        const a = await accountDetail(deps.store, deps.clock, params.id)
        if (!a) throw new AppError('ACCOUNT_NOT_FOUND', 'No such account (it may have been erased).')
        const now = deps.clock.now()
        const base = `/console/accounts/${a.user.id}`
        const csrf = operator.csrf
        const tiers = await quotaTierChoices(deps.store)
        return pageResponse({
          title: a.user.email,
          section: 'accounts',
          operator,
          notice: noticeOf(query),
          body: html`<h1>${a.user.email}</h1>
            <p>${a.user.isOperator ? badge('operator', 'ok') : ''}
              ${a.user.deleteScheduledAt !== null ? badge(`scheduled for deletion`, 'warn') : ''}
              ${a.hold ? badge('legal hold', 'warn') : ''}
              ${a.user.erasureRequestedAt !== null ? badge('erasure in progress', 'bad') : ''}</p>
            <dl class="facts">
              <dt>Id</dt><dd><code>${a.user.id}</code></dd>
              <dt>Created</dt><dd>${when(a.user.createdAt)}</dd>
              <dt>Last active (day)</dt><dd>${when(a.user.lastActiveAt)}</dd>
              <dt>Email verified</dt><dd>${a.user.emailVerifiedAt !== null ? 'yes' : 'no'}</dd>
              <dt>Team</dt><dd><code>${a.team.id}</code> ${a.team.name}</dd>
              <dt>Quota tier</dt><dd>${a.tier.displayName} (<code>${a.tier.id}</code>)</dd>
              <dt>Subscription</dt><dd>${a.subscription ? html`${a.subscription.planType} · ${a.subscription.status}${a.subscription.cancelAtPeriodEnd ? ' · cancels at period end' : ''}` : 'none'}</dd>
              <dt>Stripe customer</dt><dd>${a.user.stripeCustomerId ? html`<code>${a.user.stripeCustomerId}</code>` : 'none'}</dd>
              ${a.user.deleteScheduledAt !== null ? html`<dt>Erased after</dt><dd>${when(a.user.deleteScheduledAt)}</dd>` : ''}
            </dl>

            <section class="panel" aria-labelledby="actions-h">
              <h2 id="actions-h">Actions</h2>
              ${actionForm(
                `${base}/exports`,
                csrf,
                'Build export archive',
                select(
                  'format',
                  'Format',
                  [
                    ['json', 'JSON'],
                    ['csv', 'CSV (zip)'],
                  ],
                  'json',
                  'export-format',
                ),
              )}
              ${actionForm(
                `${base}/tier`,
                csrf,
                'Set tier',
                select(
                  'tier',
                  'Quota tier',
                  tiers.map((tier) => [tier.id, tier.displayName]),
                  a.tier.id,
                  'tier-select',
                ),
              )}
              ${
                a.user.deleteScheduledAt === null
                  ? actionForm(`${base}/schedule-deletion`, csrf, 'Schedule deletion', [], { danger: true })
                  : actionForm(`${base}/cancel-deletion`, csrf, 'Cancel scheduled deletion')
              }
              <p><a href="${`${base}/erase`}">Erase now… (shows a dry run first)</a></p>
            </section>

            <section class="panel" aria-labelledby="hold-h">
              <h2 id="hold-h">Legal hold</h2>
              ${
                a.hold
                  ? html`<p>Held since ${when(a.hold.placedAt)}${a.hold.until ? html`, until ${when(a.hold.until)}` : ''}${a.hold.confidential ? ' (confidential: the account is not told why)' : ''}.</p>
                    <p>Reason: ${a.hold.reason}</p>
                    ${actionForm(`${base}/legal-hold/release`, csrf, 'Release hold')}`
                  : html`<p>No hold: the account can be erased.</p>
                    <form method="post" action="${`${base}/legal-hold`}" class="stack">
                      <input type="hidden" name="csrf" value="${csrf}">
                      ${field('reason', 'Reason (no personal data)', { required: true, maxLength: 1000, id: 'hold-reason' })}
                      ${field('until', 'Until (optional, YYYY-MM-DD, UTC)', { type: 'date', id: 'hold-until' })}
                      <label><input type="checkbox" name="confidential" value="true"> Confidential (the export does not show the reason)</label>
                      <button type="submit">Place hold</button>
                    </form>`
              }
            </section>

            ${table(
              'Apps and sites',
              ['Name', 'Slug', 'Deployed', 'Custom domain'],
              a.apps.map((app) => [
                app.name,
                html`<code>${app.slug}</code>`,
                app.deployed ? 'yes' : 'no',
                app.domain
                  ? html`<code>${app.domain}</code> ${badge(app.domainStatus ?? 'pending', app.domainStatus === 'active' ? 'ok' : 'muted')}`
                  : null,
              ]),
              'No apps.',
            )}
            ${table(
              'API keys',
              ['Prefix', 'Kind', 'Name', 'Created', 'Last used', 'State', ''],
              a.keys.map((key) => {
                const state = keyState(key, now)
                const active =
                  key.revokedAt === null && key.isActive && (key.expiresAt === null || key.expiresAt > now)
                return [
                  html`<code>${key.keyPrefix}…</code>`,
                  key.kind,
                  key.name,
                  when(key.createdAt),
                  when(key.lastUsedAt),
                  state,
                  active
                    ? actionForm(`${base}/keys/${key.id}/revoke`, csrf, `Revoke ${key.keyPrefix}`, [], {
                        danger: true,
                      })
                    : null,
                ]
              }),
              'No keys.',
            )}
            ${table(
              'Sandboxes (the 20 most recent)',
              ['Id', 'Template', 'Status', 'Memory', 'Created'],
              a.sandboxes.map((s) => [
                html`<code>${s.id}</code>`,
                s.template,
                s.status,
                `${s.memoryMb} MB`,
                when(s.createdAt),
              ]),
              'No sandboxes.',
            )}
            ${table(
              'Usage, last 7 days',
              ['Day (UTC)', 'Sandbox creates', 'GB-hours'],
              a.usage.map((u) => [u.usageDate, u.sandboxCreates, Math.round(u.gbHours * 1000) / 1000]),
              'No usage.',
            )}
            ${table(
              'Data-subject requests',
              ['Type', 'Status', 'Received', 'Due'],
              a.requests.map((r) => [
                html`<a href="${`/console/requests/${r.id}`}">${r.type}</a>`,
                r.status,
                when(r.receivedAt),
                when(r.dueAt),
              ]),
              'No requests.',
            )}
            ${table(
              'Export archives',
              ['Id', 'Format', 'Status', 'Requested', 'Download'],
              a.archives.map((x) => {
                const url = downloadUrl(deps, x)
                return [
                  html`<code>${x.id}</code>`,
                  x.format,
                  x.status,
                  when(x.createdAt),
                  url ? html`<a href="${url}">Download</a>` : null,
                ]
              }),
              'No archives.',
            )}
            ${table(
              'Erasures',
              ['Receipt', 'Step', 'Requested'],
              a.erasures.map((e) => [
                html`<a href="${`/console/erasures/${e.id}`}"><code>${e.id}</code></a>`,
                e.step,
                when(e.requestedAt),
              ]),
              'No erasures.',
            )}`,
        })
      },
      {
        params: t.Object({ id: t.String({ maxLength: 100 }) }),
        query: t.Object({ ...noticeQuery }),
        ...HIDDEN,
      },
    )
