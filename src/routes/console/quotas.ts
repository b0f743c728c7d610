import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { barChart } from '../../render/console/chart'
import { pageResponse } from '../../render/console/layout'
import { table } from '../../render/console/widgets'
import { html } from '../../render/html'
import { CHART_DAYS, quotaReport } from '../../services/console/usage'
import { HIDDEN, noticeOf, noticeQuery, pageOperator } from './context'

export const consoleQuotaRoutes = (deps: AppDeps) =>
  new Elysia().get(
    '/console/quotas',
    async ({ request, query }) => {
      const operator = await pageOperator(deps, request)
      if (operator instanceof Response) return operator
      const report = await quotaReport(deps.store, deps.clock.now())
      return pageResponse({
        title: 'Quotas and usage',
        section: 'quotas',
        operator,
        notice: noticeOf(query),
        body: html`<h1>Quotas and usage</h1>
          ${table(
            'Tiers',
            ['Tier', 'Id', 'Concurrent sandboxes', 'Creates per day', 'GB-hours per day'],
            report.tiers.map((tier) => [
              tier.displayName,
              html`<code>${tier.id}</code>`,
              tier.maxConcurrentSandboxes,
              tier.dailySandboxCreates,
              tier.dailyGbHours,
            ]),
          )}
          ${table(
            'Refusals today (UTC)',
            ['Limit', 'Refused creates'],
            report.refusals.map((r) => [r.quota.replaceAll('_', ' '), r.refusals]),
            'No create was refused today.',
          )}
          ${table(
            'Top teams by sandbox creates today (UTC)',
            ['Owner', 'Team', 'Tier', 'Creates', 'GB-hours'],
            report.topTeams.map((team) => [
              html`<a href="${`/console/accounts/${team.userId}`}">${team.email}</a>`,
              html`<code>${team.teamId}</code>`,
              team.tierId,
              team.creates,
              Math.round(team.gbHours * 1000) / 1000,
            ]),
            'No usage today.',
          )}
          <h2>Sandbox creates per day, last ${CHART_DAYS} days</h2>
          <figure class="chart">
            ${barChart(
              `Sandbox creates per day over the last ${CHART_DAYS} days`,
              report.perDay.map((d) => ({ label: d.day, value: d.creates })),
            )}
          </figure>
          <details><summary>The same figures as a table</summary>
            ${table(
              'Creates per day',
              ['Day (UTC)', 'Creates'],
              report.perDay.map((d) => [d.day, d.creates]),
            )}
          </details>`,
      })
    },
    { query: t.Object({ ...noticeQuery }), ...HIDDEN },
  )
