import type { AppRow, SandboxRow, SiteRow } from '../../db/rows'
import { quotaTiers } from '../../db/schema'
import { toRfc3339 } from '../lib/time'
import type { SubscriptionRow } from '../services/account-overview'
import type { QuotaTierRow, QuotaUsageRow, TeamRow, UserRow } from '../services/accounts'
import {
  assertPlanCoversRegistry,
  type ExportContext,
  type ExportPlan,
  first,
  list,
  single,
} from '../services/export'
import type { ApiKeyRow } from '../services/keys'
import type { LegalHoldRow } from '../services/legal-holds'
import { EXPORTED_TABLES } from './export-tables'
import {
  projectKeyRowForV1,
  projectTeamForV1,
  projectTierForV1,
  projectUsageForV1,
  projectUserForV1,
} from './v1'

const T = EXPORTED_TABLES

type Row = Record<string, any>

/**
 * GET /v1/account/export. The documented keys first, as the seed page shows them (`user`, `team`,
 * `quota_tier`, `quota_usage`, `api_keys`, `sandboxes`), then the completeness sections: raw rows
 * with their snake_case column names and RFC 3339 times, secret and internal columns left out.
 */
export const v1ExportPlan: ExportPlan = {
  dialect: 'v1',
  filename: 'account-export.json',
  sections: [
    'user',
    'team',
    'quota_tier',
    'quota_usage',
    'api_keys',
    'sandboxes',
    'apps',
    'sites',
    'policies',
    'app_pages',
    'policy_versions',
    'deploys',
    'subscription',
    'legal_hold',
  ],
  async *generate(ctx: ExportContext) {
    const s = ctx.snapshot
    const user = await first(s.rows<UserRow>(T.users))
    const team = await first(s.rows<TeamRow>(T.teams))
    yield '{'
    // The first section is written without its leading comma.
    const sections = (async function* () {
      yield* single(ctx, 'user', user, projectUserForV1)
      yield* single(ctx, 'team', team, projectTeamForV1)
      yield* single(
        ctx,
        'quota_tier',
        team ? s.row<QuotaTierRow>(quotaTiers, 'id', team.quotaTierId) : null,
        projectTierForV1,
      )
      yield* list(ctx, 'quota_usage', s.rows<QuotaUsageRow>(T.quotaUsage), projectUsageForV1)
      // Revoking or suspending a key clears is_active, so the admin view's projection is exact here.
      yield* list(ctx, 'api_keys', s.rows<ApiKeyRow>(T.apiKeys), projectKeyRowForV1)
      yield* list(ctx, 'sandboxes', s.rows<SandboxRow>(T.sandboxes), (sb) => ({
        id: sb.id,
        team_id: sb.teamId,
        user_id: sb.userId,
        template: sb.template,
        status: sb.status,
        config: { vcpus: sb.vcpus, memory_mb: sb.memoryMb, disk_mb: sb.diskMb },
        metadata: sb.metadata,
        timeout_ms: sb.timeoutMs,
        timeout_action: sb.timeoutAction,
        timeout_at: toRfc3339(sb.timeoutAt),
        started_at: toRfc3339(sb.startedAt),
        destroyed_at: toRfc3339(sb.destroyedAt),
        created_at: toRfc3339(sb.createdAt),
        updated_at: toRfc3339(sb.updatedAt),
      }))
      yield* list(ctx, 'apps', s.rows<AppRow>(T.apps), (a) => ({
        id: a.id,
        user_id: a.userId,
        app_name: a.appName,
        slug: a.slug,
        deployed: a.deployed,
        deployed_at: toRfc3339(a.deployedAt),
        created_at: toRfc3339(a.createdAt),
        updated_at: toRfc3339(a.updatedAt),
      }))
      yield* list(ctx, 'sites', s.rows<SiteRow>(T.sites), (site) => ({
        app_id: site.appId,
        description: site.description,
        icon_url: site.iconUrl,
        icon_color: site.iconColor,
        custom_domain: site.customDomain,
        domain_status: site.domainStatus,
        smart_banner: site.smartBanner,
        well_known_files: site.wellKnownFiles,
        search_indexing: site.searchIndexing,
        custom_homepage_html: site.customHomepageHtml,
        created_at: toRfc3339(site.createdAt),
        updated_at: toRfc3339(site.updatedAt),
      }))
      yield* list(ctx, 'policies', s.rows<Row>(T.policies), (p) => ({
        app_id: p.appId,
        data: p.data,
        created_at: toRfc3339(p.createdAt),
        updated_at: toRfc3339(p.updatedAt),
      }))
      yield* list(ctx, 'app_pages', s.rows<Row>(T.appPages), (p) => ({
        app_id: p.appId,
        kind: p.kind,
        data: p.data,
        created_at: toRfc3339(p.createdAt),
        updated_at: toRfc3339(p.updatedAt),
      }))
      yield* list(ctx, 'policy_versions', s.rows<Row>(T.policyVersions), (v) => ({
        id: v.id,
        app_id: v.appId,
        snapshot_at: toRfc3339(v.snapshotAt),
        trigger: v.trigger,
        app_name: v.appName,
        policy_data: v.policyData,
      }))
      yield* list(ctx, 'deploys', s.rows<Row>(T.deploys), (d) => ({
        id: d.id,
        app_id: d.appId,
        deployed_at: toRfc3339(d.deployedAt),
        url: d.url,
        pages: d.pages,
      }))
      yield* single(ctx, 'subscription', first(s.rows<SubscriptionRow>(T.subscriptions)), (sub) => ({
        id: sub.id,
        user_id: sub.userId,
        stripe_subscription_id: sub.stripeSubscriptionId,
        status: sub.status,
        plan_type: sub.planType,
        quantity: sub.quantity,
        cancel_at_period_end: sub.cancelAtPeriodEnd,
        current_period_end: sub.currentPeriodEnd === null ? null : toRfc3339(sub.currentPeriodEnd * 1000),
        created_at: toRfc3339(sub.createdAt),
        updated_at: toRfc3339(sub.updatedAt),
      }))
      // That a hold exists, and why unless the operator marked it confidential.
      yield* single(ctx, 'legal_hold', first(s.rows<LegalHoldRow>(T.legalHolds)), (h) => ({
        user_id: h.userId,
        placed_at: toRfc3339(h.placedAt),
        until: toRfc3339(h.until),
        released_at: toRfc3339(h.releasedAt),
        reason: h.confidential ? null : h.reason,
        confidential: h.confidential,
      }))
      yield `,"exported_at":${JSON.stringify(new Date(ctx.now).toISOString())}`
    })()
    const opening = await sections.next()
    if (!opening.done) yield opening.value.slice(1)
    yield* sections
  },
}
assertPlanCoversRegistry(v1ExportPlan)
