import { Elysia, t } from 'elysia'
import { readTransaction } from '../../../db/store'
import type { AppDeps } from '../../deps'
import { jsonResponse } from '../../lib/adopt-headers'
import { principalContext } from '../../plugins/principal'
import { requestKeyOf } from '../../plugins/request-state'
import { routeOptions } from '../../plugins/route-options'
import {
  ApiAppDetail,
  ApiAppSummary,
  ApiCreatedApp,
  projectAppSummaryForApi,
  projectSiteForApi,
} from '../../projections/api'
import { subscriptionOfUser } from '../../services/account-overview'
import { createApp, deleteApp, listApps, ownedApp, siteOf } from '../../services/apps'
import { withSeatReleased } from '../../services/seats'
import { apiDoc, apiDocEmpty } from '../openapi'

export const AppParams = t.Object({ appId: t.String({ minLength: 1, maxLength: 64 }) })
const AppName = t.String({ minLength: 1, maxLength: 200, error: 'must be 1–200 characters' })

export const apiAppRoutes = (deps: AppDeps) =>
  new Elysia({ prefix: '/api/apps' })
    .use(principalContext)
    .use(routeOptions)
    .get(
      '',
      // A finished Response, like the account's: test/api/apps.test.ts checks it against the schema.
      async ({ principal, set }) =>
        jsonResponse(set, (await listApps(deps.store, principal.userId)).map(projectAppSummaryForApi)),
      {
        ...apiDoc({
          operationId: 'listApps',
          summary: "The account's apps ([] when none)",
          tag: 'apps',
          ok: { 200: t.Array(ApiAppSummary) },
        }),
      },
    )
    .post(
      '',
      async ({ principal, body, set }) => {
        const app = await createApp(deps, principal.userId, body.appName)
        set.status = 201
        return { appId: app.id, appName: app.appName, slug: app.slug }
      },
      {
        body: t.Object({ appName: AppName }),
        rateLimit: 'apps-create',
        ...apiDoc({
          operationId: 'createApp',
          summary: 'Create an app; its slug is derived from the name',
          tag: 'apps',
          ok: { 201: ApiCreatedApp },
          errors: [400],
          body: true,
          idempotent: true,
        }),
      },
    )
    .get(
      '/:appId',
      ({ principal, params }) =>
        readTransaction(deps.store, async (tx) => {
          const app = await ownedApp(tx, principal.userId, params.appId)
          return {
            appId: app.id,
            appName: app.appName,
            site: projectSiteForApi(
              app,
              await siteOf(tx, app.id),
              await subscriptionOfUser(tx, principal.userId),
            ),
          }
        }),
      {
        params: AppParams,
        ...apiDoc({
          operationId: 'getApp',
          summary: 'An app and its site',
          tag: 'apps',
          ok: { 200: ApiAppDetail },
          errors: [404],
        }),
      },
    )
    .delete(
      '/:appId',
      async ({ principal, params, request }) => {
        await withSeatReleased(deps, principal.userId, params.appId, requestKeyOf(request), () =>
          deleteApp(deps, principal.userId, params.appId),
        )
        return new Response(null, { status: 204 })
      },
      {
        params: AppParams,
        ...apiDocEmpty({
          operationId: 'deleteApp',
          summary: 'Delete an app with its site, pages, versions, history and files',
          description:
            'Frees its slug and custom domain at once. An app holding a seat releases it at Stripe first (quantity − 1, prorated; the last seat cancels the subscription, the card stays on file); if Stripe cannot be reached the app is kept (502).',
          tag: 'apps',
          ok: { 204: null },
          errors: [404, 502],
          idempotent: true,
        }),
      },
    )
