import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { pageResponse } from '../../render/console/layout'
import { stat } from '../../render/console/widgets'
import { html } from '../../render/html'
import { consoleOverview } from '../../services/console/overview'
import { HIDDEN, noticeOf, noticeQuery, pageOperator } from './context'

export const consoleOverviewRoutes = (deps: AppDeps) =>
  new Elysia().get(
    '/console',
    async ({ request, query }) => {
      const operator = await pageOperator(deps, request)
      if (operator instanceof Response) return operator
      const o = await consoleOverview(deps.store, deps.clock.now())
      return pageResponse({
        title: 'Overview',
        section: 'overview',
        operator,
        notice: noticeOf(query),
        body: html`<h1>Overview</h1>
          <h2 id="accounts-h">Accounts</h2>
          <ul class="stats" aria-labelledby="accounts-h">
            ${stat('accounts', o.accounts, '/console/accounts')}
            ${stat('active', o.active, '/console/accounts')}
            ${stat('scheduled for deletion', o.scheduled, '/console/accounts?filter=scheduled')}
          </ul>
          <h2 id="erasures-h">Erasures</h2>
          <ul class="stats" aria-labelledby="erasures-h">
            ${stat('in progress', o.erasuresRunning, '/console/erasures?state=running')}
            ${stat('incomplete', o.erasuresIncomplete, '/console/erasures?state=incomplete', 'warn')}
            ${stat('blocked by a legal hold', o.erasuresBlocked, '/console/erasures?state=blocked_legal_hold', 'warn')}
          </ul>
          <h2 id="requests-h">Data-subject requests</h2>
          <ul class="stats" aria-labelledby="requests-h">
            ${stat('due in 7 days', o.requestsDue7Days, '/console/requests?due=7d', 'warn')}
            ${stat('overdue', o.requestsOverdue, '/console/requests?due=overdue', 'warn')}
          </ul>
          <h2 id="ops-h">Operations</h2>
          <ul class="stats" aria-labelledby="ops-h">
            ${stat('failing webhook endpoints', o.failingEndpoints, '/console/webhooks', 'warn')}
            ${stat('quota refusals today', o.quotaRefusalsToday, '/console/quotas', 'warn')}
          </ul>`,
      })
    },
    { query: t.Object({ ...noticeQuery }), ...HIDDEN },
  )
