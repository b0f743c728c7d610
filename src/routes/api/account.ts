import { Elysia } from 'elysia'
import type { AppDeps } from '../../deps'
import { principalContext } from '../../plugins/principal'
import { routeOptions } from '../../plugins/route-options'
import { ApiAccount, ApiStatus, projectAccountForApi, projectStatusForApi } from '../../projections/api'
import { apiExportPlan } from '../../projections/export-api'
import { accountOverview, deployedApps } from '../../services/account-overview'
import { ApiExportDocument, exportResponse } from '../export-response'
import { apiDoc } from '../openapi'

export const apiAccountRoutes = (deps: AppDeps) => {
  const { store } = deps
  return new Elysia({ prefix: '/api' })
    .use(principalContext)
    .use(routeOptions)
    .get('/status', ({ principal }) => projectStatusForApi(accountOverview(store, principal.userId)), {
      ...apiDoc({
        operationId: 'getStatus',
        summary: 'Subscription and app summary',
        tag: 'account',
        ok: { 200: ApiStatus },
      }),
    })
    .get(
      '/account',
      ({ principal }) =>
        projectAccountForApi(accountOverview(store, principal.userId), deployedApps(store, principal.userId)),
      {
        ...apiDoc({
          operationId: 'getAccount',
          summary: 'Profile, stats, payment method and subscription (both field generations)',
          tag: 'account',
          ok: { 200: ApiAccount },
        }),
      },
    )
    .get('/account/export', ({ principal }) => exportResponse(deps, principal.userId, apiExportPlan), {
      rateLimit: 'export',
      ...apiDoc({
        operationId: 'exportAccount',
        summary: 'Export all account data as a JSON download',
        description:
          'Streams everything held about the account from one consistent snapshot; `_manifest` counts every section.',
        tag: 'account',
        ok: { 200: ApiExportDocument },
      }),
    })
}
