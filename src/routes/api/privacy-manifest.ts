import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { principalContext } from '../../plugins/principal'
import { COLLECTED_DATA_TYPES, DATA_PURPOSES, REQUIRED_REASON_APIS } from '../../privacy/apple-reference'
import { renderPrivacyInfoPlist } from '../../privacy/manifest'
import { Millis, nullable } from '../../projections/schema-helpers'
import {
  derivedFromWizard,
  type PrivacyManifestView,
  privacyManifestOf,
  savePrivacyManifest,
} from '../../services/privacy-manifest'
import { apiDoc, apiDocEmpty } from '../openapi'
import { AppParams } from './apps'
import { PrivacyManifestBody } from './page-schemas'

const PrivacyManifest = t.Object({
  tracking: t.Boolean(),
  trackingDomains: t.Array(t.String()),
  dataTypes: t.Array(
    t.Object({
      type: t.String({ description: 'Apple identifier, e.g. NSPrivacyCollectedDataTypeEmailAddress' }),
      linkedToUser: t.Boolean(),
      usedForTracking: t.Boolean(),
      purposes: t.Array(t.String()),
    }),
  ),
  accessedApiTypes: t.Array(t.Object({ category: t.String(), reasons: t.Array(t.String()) })),
  source: t.Union([t.Literal('saved'), t.Literal('wizard')], {
    description: '`wizard`: nothing saved yet, derived from the privacy-policy wizard',
  }),
  updatedAt: nullable(Millis),
  mapping: t.Array(
    t.Object({
      field: t.Union([t.Literal('data_types'), t.Literal('purposes'), t.Literal('tracking')]),
      answer: t.String(),
      mappedTo: nullable(t.String()),
    }),
    { description: 'How each wizard answer was mapped (empty for a saved config)' },
  ),
})

const Reference = t.Object({
  dataTypes: t.Array(
    t.Object({ id: t.String(), name: t.String(), category: t.String(), description: t.String() }),
  ),
  purposes: t.Array(t.Object({ id: t.String(), name: t.String(), description: t.String() })),
  requiredReasonApis: t.Array(
    t.Object({
      id: t.String(),
      name: t.String(),
      description: t.String(),
      reasons: t.Array(t.Object({ code: t.String(), description: t.String() })),
    }),
  ),
})

const answer = (view: PrivacyManifestView) => ({
  ...view.config,
  source: view.source,
  updatedAt: view.updatedAt,
  mapping: view.mapping,
})

const plistDoc = apiDocEmpty({
  operationId: 'downloadPrivacyManifest',
  summary: 'The rendered PrivacyInfo.xcprivacy (Apple XML property list), as an attachment',
  tag: 'pages',
  ok: { 200: null },
  errors: [404],
})
const plistResponses = plistDoc.detail.responses as Record<string, unknown>
plistResponses['200'] = {
  description: 'PrivacyInfo.xcprivacy from the saved config, or the wizard starter',
  content: { 'application/x-plist': { schema: { type: 'string' } } },
}

/** The iOS privacy manifest of an app (docs/spec/api-orbit.md): config, wizard starter, plist, Apple's lists. */
export const apiPrivacyManifestRoutes = (deps: AppDeps) =>
  new Elysia()
    .use(principalContext)
    .get(
      '/api/privacy-manifest/reference',
      () => ({
        dataTypes: [...COLLECTED_DATA_TYPES],
        purposes: [...DATA_PURPOSES],
        requiredReasonApis: REQUIRED_REASON_APIS.map((api) => ({ ...api, reasons: [...api.reasons] })),
      }),
      {
        ...apiDoc({
          operationId: 'privacyManifestReference',
          summary:
            "Apple's allowlists: collected data types, purposes, Required Reason API categories and codes",
          tag: 'pages',
          ok: { 200: Reference },
        }),
      },
    )
    .group('/api/apps/:appId', (app) =>
      app
        .get(
          '/privacy-manifest',
          async ({ principal, params }) =>
            answer(await privacyManifestOf(deps.store, principal.userId, params.appId)),
          {
            params: AppParams,
            ...apiDoc({
              operationId: 'getPrivacyManifest',
              summary:
                'The privacy manifest config; before the first save, a starter derived from the wizard',
              tag: 'pages',
              ok: { 200: PrivacyManifest },
              errors: [404],
            }),
          },
        )
        .put(
          '/privacy-manifest',
          async ({ principal, params, body }) =>
            answer(await savePrivacyManifest(deps.store, deps.clock, principal.userId, params.appId, body)),
          {
            params: AppParams,
            body: PrivacyManifestBody,
            ...apiDoc({
              operationId: 'savePrivacyManifest',
              summary: "Save the privacy manifest (every value checked against Apple's allowlists)",
              tag: 'pages',
              ok: { 200: PrivacyManifest },
              errors: [404],
              body: true,
              idempotent: true,
            }),
          },
        )
        .post(
          '/privacy-manifest/sync-from-wizard',
          async ({ principal, params }) =>
            answer(await derivedFromWizard(deps.store, principal.userId, params.appId)),
          {
            params: AppParams,
            ...apiDoc({
              operationId: 'syncPrivacyManifestFromWizard',
              summary: 'A config freshly derived from the wizard answers (read-only: saves nothing)',
              tag: 'pages',
              ok: { 200: PrivacyManifest },
              errors: [404],
              idempotent: true,
            }),
          },
        )
        .get(
          '/privacy-manifest.xcprivacy',
          async ({ principal, params }) =>
            new Response(
              renderPrivacyInfoPlist(
                (await privacyManifestOf(deps.store, principal.userId, params.appId)).config,
              ),
              {
                headers: {
                  'content-type': 'application/x-plist; charset=utf-8',
                  'content-disposition': 'attachment; filename="PrivacyInfo.xcprivacy"',
                },
              },
            ),
          { params: AppParams, ...plistDoc },
        ),
    )
