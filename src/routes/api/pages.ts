import type { TObject } from '@sinclair/typebox'
import { Elysia, t } from 'elysia'
import type { PageKind } from '../../../db/schema'
import type { AppDeps } from '../../deps'
import { principalContext } from '../../plugins/principal'
import { Millis } from '../../projections/schema-helpers'
import {
  listPolicyVersions,
  pageOf,
  policyOf,
  policyVersion,
  savePage,
  savePolicy,
} from '../../services/pages'
import { apiDoc } from '../openapi'
import { AppParams } from './apps'
import { AasaBody, DeletionPageBody, PolicyBody, SupportPageBody, TestflightPageBody } from './page-schemas'

const withUpdatedAt = (body: TObject): TObject => t.Composite([body, t.Object({ updatedAt: Millis })])

interface PageRoute {
  path: string
  kind: PageKind
  body: TObject
  name: string
  operation: string
}

/** GET (404 until first saved) and PUT (validate, save, answer what was saved + updatedAt). */
function pageRoutes(deps: AppDeps, page: PageRoute) {
  const Saved = withUpdatedAt(page.body)
  // No prefix of its own: mounted inside apiPageRoutes, which has it.
  return new Elysia()
    .use(principalContext)
    .get(
      page.path,
      async ({ principal, params }) => {
        const saved = await pageOf(deps.store, principal.userId, params.appId, page.kind)
        return { ...saved.data, updatedAt: saved.updatedAt }
      },
      {
        params: AppParams,
        ...apiDoc({
          operationId: `get${page.operation}`,
          summary: `The ${page.name} (404 until first saved)`,
          tag: 'pages',
          ok: { 200: Saved },
          errors: [404],
        }),
      },
    )
    .put(
      page.path,
      async ({ principal, params, body }) => {
        const saved = await savePage(
          deps.store,
          deps.clock,
          principal.userId,
          params.appId,
          page.kind,
          body as Record<string, unknown>,
        )
        return { ...saved.data, updatedAt: saved.updatedAt }
      },
      {
        params: AppParams,
        body: page.body,
        ...apiDoc({
          operationId: `save${page.operation}`,
          summary: `Save the ${page.name}`,
          tag: 'pages',
          ok: { 200: Saved },
          errors: [404],
          body: true,
          idempotent: true,
        }),
      },
    )
}

const PolicyVersionSummary = t.Object({
  versionId: t.String(),
  snapshotAt: Millis,
  trigger: t.String(),
  appName: t.String(),
})

export const apiPageRoutes = (deps: AppDeps) =>
  new Elysia({ prefix: '/api/apps/:appId' })
    .use(principalContext)
    .get(
      '/policy',
      async ({ principal, params }) => {
        const saved = await policyOf(deps.store, principal.userId, params.appId)
        return { ...saved.data, updatedAt: saved.updatedAt }
      },
      {
        params: AppParams,
        ...apiDoc({
          operationId: 'getPolicy',
          summary: 'The privacy-policy wizard answers (404 until first saved)',
          tag: 'pages',
          ok: { 200: withUpdatedAt(PolicyBody) },
          errors: [404],
        }),
      },
    )
    .put(
      '/policy',
      async ({ principal, params, body }) => {
        const saved = await savePolicy(
          deps.store,
          deps.clock,
          principal.userId,
          params.appId,
          body as Record<string, unknown>,
        )
        return { ...saved.data, updatedAt: saved.updatedAt, warnings: saved.warnings }
      },
      {
        params: AppParams,
        body: PolicyBody,
        ...apiDoc({
          operationId: 'savePolicy',
          summary: 'Save the privacy-policy wizard answers',
          description: '`warnings` names the recommended answers left empty (the policy is saved anyway).',
          tag: 'pages',
          ok: {
            200: t.Composite([PolicyBody, t.Object({ updatedAt: Millis, warnings: t.Array(t.String()) })]),
          },
          errors: [404],
          body: true,
          idempotent: true,
        }),
      },
    )
    .get(
      '/policy-versions',
      async ({ principal, params }) =>
        (await listPolicyVersions(deps.store, principal.userId, params.appId)).map((v) => ({
          versionId: v.id,
          snapshotAt: v.snapshotAt,
          trigger: v.trigger,
          appName: v.appName,
        })),
      {
        params: AppParams,
        ...apiDoc({
          operationId: 'listPolicyVersions',
          summary: 'Policy snapshots taken at each deploy, newest first (at most 20)',
          tag: 'pages',
          ok: { 200: t.Array(PolicyVersionSummary) },
          errors: [404],
        }),
      },
    )
    .get(
      '/policy-versions/:versionId',
      async ({ principal, params }) => {
        const v = await policyVersion(deps.store, principal.userId, params.appId, params.versionId)
        return {
          versionId: v.id,
          snapshotAt: v.snapshotAt,
          trigger: v.trigger,
          appName: v.appName,
          policyData: v.policyData,
        }
      },
      {
        params: t.Object({
          appId: t.String({ minLength: 1, maxLength: 64 }),
          versionId: t.String({ maxLength: 100 }),
        }),
        ...apiDoc({
          operationId: 'getPolicyVersion',
          summary: 'One policy snapshot',
          tag: 'pages',
          ok: {
            200: t.Composite([
              PolicyVersionSummary,
              t.Object({ policyData: t.Record(t.String(), t.Unknown()) }),
            ]),
          },
          errors: [404],
        }),
      },
    )
    .use(
      pageRoutes(deps, {
        path: '/support-page',
        kind: 'support',
        body: SupportPageBody,
        name: 'support page',
        operation: 'SupportPage',
      }),
    )
    .use(
      pageRoutes(deps, {
        path: '/deletion-page',
        kind: 'deletion',
        body: DeletionPageBody,
        name: 'data-deletion page',
        operation: 'DeletionPage',
      }),
    )
    .use(
      pageRoutes(deps, {
        path: '/testflight-page',
        kind: 'testflight',
        body: TestflightPageBody,
        name: 'TestFlight page',
        operation: 'TestflightPage',
      }),
    )
    .use(
      pageRoutes(deps, {
        path: '/aasa',
        kind: 'aasa',
        body: AasaBody,
        name: 'Apple app-site-association',
        operation: 'Aasa',
      }),
    )
