import { Elysia } from 'elysia'
import type { AppDeps } from '../../deps'
import { principalContext } from '../../plugins/principal'
import { ApiAccount, ApiStatus, projectAccountForApi, projectStatusForApi } from '../../projections/api'
import { accountOverview, deployedApps } from '../../services/account-overview'
import { apiDoc } from '../openapi'

export const apiAccountRoutes = ({ store }: AppDeps) =>
  new Elysia({ prefix: '/api' })
    .use(principalContext)
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
