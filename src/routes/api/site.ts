import { Elysia, t } from 'elysia'
import { readTransaction } from '../../../db/store'
import type { AppDeps } from '../../deps'
import { fieldError } from '../../errors'
import { bodyBytesOf } from '../../plugins/body-guard'
import { principalContext } from '../../plugins/principal'
import { routeOptions } from '../../plugins/route-options'
import { ApiSite, ApiSmartBanner, projectSiteForApi } from '../../projections/api'
import { nullable } from '../../projections/schema-helpers'
import { subscriptionOfUser } from '../../services/account-overview'
import { ownedApp, siteOf } from '../../services/apps'
import { saveIcon, saveSmartBanner, saveWellKnownFile, smartBannerOf, updateSite } from '../../services/sites'
import { apiDoc } from '../openapi'
import { AppParams } from './apps'
import { SmartBannerBody } from './page-schemas'

const ICON_TYPES = ['image/png', 'image/jpeg', 'image/webp']

/** The raw bytes of an upload: the body itself, or the multipart field `file`. */
async function uploadedBytes(request: Request): Promise<Uint8Array> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  if (type === 'multipart/form-data') {
    let form: Awaited<ReturnType<Request['formData']>>
    try {
      form = await new Response(bodyBytesOf(request), {
        headers: { 'content-type': request.headers.get('content-type') ?? '' },
      }).formData()
    } catch {
      throw fieldError(['file'], 'the multipart body could not be read')
    }
    const file = form.get('file')
    if (!(file instanceof Blob))
      throw fieldError(['file'], 'send the image in a multipart field named "file"')
    return new Uint8Array(await file.arrayBuffer())
  }
  if (!ICON_TYPES.includes(type))
    throw fieldError(
      ['file'],
      'must be a PNG, JPEG or WebP image (Content-Type image/png, image/jpeg or image/webp)',
    )
  return bodyBytesOf(request)
}

export const apiSiteRoutes = (deps: AppDeps) => {
  const siteFor = (userId: string, appId: string) =>
    readTransaction(deps.store, async (tx) => {
      const app = await ownedApp(tx, userId, appId)
      return projectSiteForApi(app, await siteOf(tx, appId), await subscriptionOfUser(tx, userId))
    })
  return new Elysia({ prefix: '/api/apps/:appId' })
    .use(principalContext)
    .use(routeOptions)
    .get('/site', ({ principal, params }) => siteFor(principal.userId, params.appId), {
      params: AppParams,
      ...apiDoc({
        operationId: 'getSite',
        summary: "An app's site",
        tag: 'sites',
        ok: { 200: ApiSite },
        errors: [404],
      }),
    })
    .patch(
      '/site',
      async ({ principal, params, body }) => {
        const { app, site } = await updateSite(deps, principal.userId, params.appId, body)
        const subscription = await readTransaction(deps.store, (tx) =>
          subscriptionOfUser(tx, principal.userId),
        )
        return projectSiteForApi(app, site, subscription)
      },
      {
        params: AppParams,
        body: t.Object({
          appName: t.Optional(t.String({ minLength: 1, maxLength: 200, error: 'must be 1–200 characters' })),
          description: t.Optional(
            nullable(t.String({ maxLength: 4000, error: 'must be at most 4000 characters' })),
          ),
          slug: t.Optional(t.String({ minLength: 1, maxLength: 63, error: 'must be 1–63 characters' })),
          searchIndexing: t.Optional(t.Boolean({ error: 'must be true or false' })),
          customHomepageHtml: t.Optional(
            nullable(t.String({ maxLength: 51_200, error: 'must be at most 50 KB' })),
          ),
        }),
        ...apiDoc({
          operationId: 'updateSite',
          summary: 'Update site fields; answers the merged site',
          description:
            'A slug another app holds is SLUG_TAKEN; reserved words are SLUG_RESERVED. The custom homepage is sanitised; "" resets it.',
          tag: 'sites',
          ok: { 200: ApiSite },
          errors: [404, 409],
          body: true,
          idempotent: true,
        }),
      },
    )
    .post(
      '/site/icon',
      async ({ principal, params, request }) =>
        saveIcon(deps, principal.userId, params.appId, await uploadedBytes(request)),
      {
        params: AppParams,
        parse: 'none',
        rateLimit: 'icon',
        ...apiDoc({
          operationId: 'uploadIcon',
          summary: 'Upload the app icon (PNG, JPEG or WebP ≤ 2 MB, raw or multipart "file")',
          description: 'Stored re-encoded as a 512×512 PNG without metadata, with its dominant colour.',
          tag: 'sites',
          ok: { 200: t.Object({ iconUrl: t.String(), iconColor: t.String({ pattern: '^#[0-9a-f]{6}$' }) }) },
          errors: [400, 404, 413],
          idempotent: true,
        }),
      },
    )
    .get(
      '/site/smart-banner',
      ({ principal, params }) => smartBannerOf(deps.store, principal.userId, params.appId),
      {
        params: AppParams,
        ...apiDoc({
          operationId: 'getSmartBanner',
          summary: 'The Smart App Banner settings (404 until first saved)',
          tag: 'sites',
          ok: { 200: ApiSmartBanner },
          errors: [404],
        }),
      },
    )
    .put(
      '/site/smart-banner',
      ({ principal, params, body }) => saveSmartBanner(deps, principal.userId, params.appId, body),
      {
        params: AppParams,
        body: SmartBannerBody,
        ...apiDoc({
          operationId: 'saveSmartBanner',
          summary: 'Save the Smart App Banner settings',
          tag: 'sites',
          ok: { 200: ApiSmartBanner },
          errors: [404],
          body: true,
          idempotent: true,
        }),
      },
    )
    .post(
      '/well-known/:fileName',
      async ({ principal, params, request }) => {
        const bytes = bodyBytesOf(request)
        return saveWellKnownFile(deps, principal.userId, params.appId, params.fileName, bytes)
      },
      {
        params: t.Object({
          appId: t.String({ minLength: 1, maxLength: 64 }),
          fileName: t.String({ maxLength: 100 }),
        }),
        parse: 'none',
        rateLimit: 'well-known',
        ...apiDoc({
          operationId: 'uploadWellKnownFile',
          summary: 'Upload an Apple verification file served under /.well-known/',
          description:
            'fileName is apple-developer-domain-association.txt, apple-developer-merchantid-domain-association or apple-wallet-order-type-association; the body is the file (≤ 100 KB).',
          tag: 'sites',
          ok: { 200: t.Object({ success: t.Literal(true), fileName: t.String() }) },
          errors: [400, 404, 413],
          idempotent: true,
        }),
      },
    )
}
