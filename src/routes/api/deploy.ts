import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { principalContext } from '../../plugins/principal'
import { requestKeyOf } from '../../plugins/request-state'
import { routeOptions } from '../../plugins/route-options'
import { Millis, nullable } from '../../projections/schema-helpers'
import { deployApp, deployHistory } from '../../services/deploy'
import { apiDoc } from '../openapi'
import { AppParams } from './apps'

const PageUrl = nullable(t.String({ format: 'uri' }))
const DeployAnswer = t.Object({
  url: t.String({ format: 'uri', examples: ['http://localhost:3000/sites/my-app/'] }),
  customDomainUrl: t.Optional(t.String({ format: 'uri' })),
  deployedAt: Millis,
  pages: t.Object({
    privacyPolicy: PageUrl,
    supportPage: PageUrl,
    dataDeletion: PageUrl,
    nutritionLabels: PageUrl,
    aasa: PageUrl,
    testflight: PageUrl,
  }),
})

export const apiDeployRoutes = (deps: AppDeps) =>
  new Elysia({ prefix: '/api/apps/:appId' })
    .use(principalContext)
    .use(routeOptions)
    .post(
      '/deploy',
      ({ principal, params, request }) =>
        deployApp(deps, principal.userId, params.appId, requestKeyOf(request)),
      {
        params: AppParams,
        rateLimit: 'deploy',
        ...apiDoc({
          operationId: 'deployApp',
          summary: "Render and publish the app's pages",
          description:
            'Publishes at <PUBLIC_URL>/sites/<slug>/ (and on the active custom domain). A page not configured is null. A deploy with nothing changed answers the live deploy. With billing enabled a new app needs a usable subscription (402 SUBSCRIPTION_REQUIRED). If rendering fails the previous version stays live (500 DEPLOY_FAILED).',
          tag: 'deploy',
          ok: { 200: DeployAnswer },
          errors: [400, 402, 404, 502],
          idempotent: true,
        }),
      },
    )
    .get(
      '/deploy-history',
      async ({ principal, params }) =>
        (await deployHistory(deps.store, principal.userId, params.appId)).map((d) => ({
          deployedAt: d.deployedAt,
          url: d.url,
          pages: d.pages,
        })),
      {
        params: AppParams,
        ...apiDoc({
          operationId: 'getDeployHistory',
          summary: 'Deploys, newest first (at most 50)',
          tag: 'deploy',
          ok: { 200: t.Array(t.Object({ deployedAt: Millis, url: t.String(), pages: t.Array(t.String()) })) },
          errors: [404],
        }),
      },
    )
