import { t } from 'elysia'
import type { AppDeps } from '../deps'
import { Int } from '../projections/schema-helpers'
import { type ExportPlan, exportAccount } from '../services/export'

/** The export download: streamed JSON with the dialect's file name. */
export async function exportResponse(deps: AppDeps, userId: string, plan: ExportPlan): Promise<Response> {
  const { stream, filename } = await exportAccount(deps, userId, plan)
  return new Response(stream, {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="${filename}"`,
      'cache-control': 'no-store',
    },
  })
}

const Manifest = t.Object({
  formatVersion: Int(),
  generatedAt: t.String({ format: 'date-time' }),
  counts: t.Record(t.String(), Int()),
})
const AnyObject = t.Record(t.String(), t.Unknown())

/** OpenAPI description of GET /api/account/export (the body is streamed, not validated). */
export const ApiExportDocument = t.Object(
  {
    exportedAt: t.String({ format: 'date-time' }),
    user: t.Object({ email: t.String(), createdAt: Int(), appCount: Int() }, { additionalProperties: true }),
    apps: AnyObject,
    sites: AnyObject,
    policies: AnyObject,
    _manifest: Manifest,
  },
  {
    additionalProperties: true,
    description:
      'All account data. `apps`, `sites`, `policies` (and `pages`, `policyVersions`, `deployHistory`) are keyed by appId; then `subscription`, `apiKeys`, `team`, `quotaUsage`, `sandboxes`, `legalHold` (null, or that a legal hold exists: its reason unless confidential); `_manifest` last.',
  },
)

/** OpenAPI description of GET /v1/account/export. */
export const V1ExportDocument = t.Object(
  {
    user: AnyObject,
    team: AnyObject,
    quota_tier: AnyObject,
    quota_usage: t.Array(AnyObject),
    api_keys: t.Array(AnyObject),
    sandboxes: t.Array(AnyObject, {
      description:
        'Raw sandbox rows: id, template, status, metadata, started_at, destroyed_at, created_at, updated_at (and config).',
    }),
    _manifest: t.Object({
      formatVersion: Int(),
      generatedAt: t.String(),
      counts: t.Record(t.String(), Int()),
    }),
  },
  {
    additionalProperties: true,
    description:
      'Full account export from the control-plane store, then `apps`, `sites`, `policies`, `app_pages`, `policy_versions`, `deploys`, `subscription`, `legal_hold` (null, or that a legal hold exists: its reason unless confidential), `exported_at`; `_manifest` last.',
  },
)
