import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { principalContext } from '../../plugins/principal'
import {
  ApiExportArchive,
  projectArchiveForApi,
  projectArchiveForV1,
  V1ExportArchive,
} from '../../projections/export-archives'
import { oneOf } from '../../projections/schema-helpers'
import {
  type ArchiveRequester,
  archiveOfLink,
  archiveResponse,
  createArchive,
  downloadUrl,
  getArchive,
} from '../../services/export-archives'
import { apiDoc, v1Doc } from '../openapi'

const FormatBody = t.Object({ format: oneOf(['json', 'csv'], { error: 'must be "json" or "csv"' }) })
const ExportParams = t.Object({ export_id: t.String({ maxLength: 100 }) })
const UserParams = t.Object({ user_id: t.String({ maxLength: 100 }) })
const description =
  'Prepared in the background (`queued → building → ready | failed`, progress in rows); when ready, `download_url` is a signed link that works without a credential until `expires_at` (EXPORT_LINK_TTL_HOURS). `json`: the same document the synchronous export streams; `csv`: a zip of one CSV per table and `manifest.json`.'

/** Export archives: asked for by the account holder (both dialects) or an operator; downloaded by link. */
export const exportArchiveRoutes = (deps: AppDeps) => {
  const v1 = (row: Parameters<typeof projectArchiveForV1>[0]) =>
    projectArchiveForV1(row, downloadUrl(deps, row))
  const api = (row: Parameters<typeof projectArchiveForApi>[0]) =>
    projectArchiveForApi(row, downloadUrl(deps, row))
  const create = (userId: string, format: 'json' | 'csv', by: ArchiveRequester) =>
    createArchive(deps, userId, format, by)
  return new Elysia()
    .use(principalContext)
    .post(
      '/v1/account/exports',
      async ({ principal, body, set }) => {
        set.status = 202
        return v1(await create(principal.userId, body.format, 'v1'))
      },
      {
        body: FormatBody,
        rateLimit: 'export',
        ...v1Doc({
          operationId: 'createExportArchive',
          summary: 'Ask for an archive of all account data (JSON or CSV), prepared in the background',
          description,
          tag: 'account',
          ok: { 202: V1ExportArchive },
          body: true,
          idempotent: true,
        }),
      },
    )
    .get(
      '/v1/account/exports/:export_id',
      async ({ principal, params }) => v1(await getArchive(deps.store, params.export_id, principal.userId)),
      {
        params: ExportParams,
        ...v1Doc({
          operationId: 'getExportArchive',
          summary: 'An archive’s status and progress, and its download link once ready',
          tag: 'account',
          ok: { 200: V1ExportArchive },
          errors: [404],
        }),
      },
    )
    .post(
      '/api/account/exports',
      async ({ principal, body, set }) => {
        set.status = 202
        return api(await create(principal.userId, body.format, 'api'))
      },
      {
        body: FormatBody,
        rateLimit: 'export',
        ...apiDoc({
          operationId: 'createAccountExportArchive',
          summary: 'Ask for an archive of all account data (JSON or CSV), prepared in the background',
          description,
          tag: 'account',
          ok: { 202: ApiExportArchive },
          body: true,
          idempotent: true,
        }),
      },
    )
    .get(
      '/api/account/exports/:export_id',
      async ({ principal, params }) => api(await getArchive(deps.store, params.export_id, principal.userId)),
      {
        params: ExportParams,
        ...apiDoc({
          operationId: 'getAccountExportArchive',
          summary: 'An archive’s status and progress, and its download link once ready',
          tag: 'account',
          ok: { 200: ApiExportArchive },
          errors: [404],
        }),
      },
    )
    .post(
      '/v1/admin/users/:user_id/exports',
      async ({ params, body, set }) => {
        set.status = 202
        return v1(await create(params.user_id, body.format, 'operator'))
      },
      {
        params: UserParams,
        body: FormatBody,
        ...v1Doc({
          operationId: 'adminCreateExportArchive',
          summary: 'Prepare an archive of an account (support, a request by email)',
          description,
          tag: 'admin',
          ok: { 202: V1ExportArchive },
          errors: [403, 404],
          body: true,
          idempotent: true,
        }),
      },
    )
    .get(
      '/v1/admin/exports/:export_id',
      async ({ params }) => v1(await getArchive(deps.store, params.export_id, null)),
      {
        params: ExportParams,
        ...v1Doc({
          operationId: 'adminGetExportArchive',
          summary: 'Any archive’s status, and its download link once ready',
          tag: 'admin',
          ok: { 200: V1ExportArchive },
          errors: [403, 404],
        }),
      },
    )
    .get(
      '/v1/export-archives/:token',
      async ({ params, request }) => archiveResponse(deps, await archiveOfLink(deps, params.token), request),
      {
        params: t.Object({ token: t.String({ maxLength: 200 }) }),
        ...v1Doc({
          operationId: 'downloadExportArchive',
          summary: 'Download an archive through its signed link (no credential); Range and ETag supported',
          description:
            '200 (or 206 for a `Range`) with `Content-Length`, `ETag` and `Content-Disposition`; 404 for a link that is not ours; 410 once it expired.',
          tag: 'account',
          ok: {
            200: t.Object(
              {},
              { additionalProperties: true, description: 'The archive’s bytes (JSON or zip)' },
            ),
          },
          errors: [400, 404, 410],
          public: true,
        }),
      },
    )
}
