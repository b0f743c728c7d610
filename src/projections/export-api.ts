import type { AppRow, SandboxRow, SiteRow } from '../../db/rows'
import type { PageKind } from '../../db/schema'
import type { SubscriptionRow } from '../services/account-overview'
import type { TeamRow, UserRow } from '../services/accounts'
import {
  assertPlanCoversRegistry,
  type ExportContext,
  type ExportPlan,
  first,
  grouped,
  keyed,
  list,
  single,
} from '../services/export'
import type { ApiKeyRow } from '../services/keys'
import type { LegalHoldRow } from '../services/legal-holds'
import { projectSiteForApi } from './api'
import { EXPORTED_TABLES } from './export-tables'

const T = EXPORTED_TABLES

interface PolicyRow {
  appId: string
  data: Record<string, unknown>
}
interface PageRow {
  appId: string
  kind: PageKind
  data: Record<string, unknown>
  createdAt: number
  updatedAt: number
}
interface VersionRow {
  id: string
  appId: string
  snapshotAt: number
  trigger: string
  appName: string
  policyData: Record<string, unknown>
}
interface DeployRow {
  id: string
  appId: string
  deployedAt: number
  url: string
  pages: string[]
}
interface UsageRow {
  teamId: string
  usageDate: string
  sandboxCreates: number
  gbHours: number
  updatedAt: number
}

/** `privacy_manifest` → `privacyManifest`: the /api dialect's page names. */
export const apiPageName = (kind: PageKind) => kind.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())

/**
 * GET /api/account/export. The documented keys first, exactly as the seed page shows them
 * (`exportedAt`, `user`, `apps`, `sites`, `policies`, keyed by appId), then every completeness
 * section in camelCase with epoch-millisecond times.
 */
export const apiExportPlan: ExportPlan = {
  dialect: 'api',
  filename: 'orbitkit-export.json',
  sections: [
    'user',
    'apps',
    'sites',
    'policies',
    'pages',
    'policyVersions',
    'deployHistory',
    'subscription',
    'apiKeys',
    'team',
    'quotaUsage',
    'sandboxes',
    'legalHold',
  ],
  async *generate(ctx: ExportContext) {
    const s = ctx.snapshot
    const user = await first(s.rows<UserRow>(T.users))
    const apps = await Array.fromAsync(s.rows<AppRow>(T.apps)) // at most 10
    const appById = new Map(apps.map((a) => [a.id, a]))
    const subscription = (await first(s.rows<SubscriptionRow>(T.subscriptions))) ?? null
    yield `{"exportedAt":${JSON.stringify(new Date(ctx.now).toISOString())}`
    yield* single(ctx, 'user', user, (u) => ({
      email: u.email,
      createdAt: u.createdAt,
      appCount: apps.length,
      displayName: u.displayName ?? u.name ?? null,
      photoURL: u.avatarUrl,
      id: u.id,
      name: u.name,
      emailVerifiedAt: u.emailVerifiedAt,
      isOperator: u.isOperator,
      tier: u.tier,
      quotaTierId: u.quotaTierId,
      abuseFlags: u.abuseFlags ?? {},
      stripeCustomerId: u.stripeCustomerId,
      paymentMethod: u.paymentMethod ?? null,
      updatedAt: u.updatedAt,
      softDeletedAt: u.softDeletedAt,
      deleteScheduledAt: u.deleteScheduledAt,
    }))
    yield* keyed(
      ctx,
      'apps',
      apps,
      (a) => a.id,
      (a) => ({
        appId: a.id,
        appName: a.appName,
        slug: a.slug,
        createdAt: a.createdAt,
        updatedAt: a.updatedAt,
        deployed: a.deployed,
        deployedAt: a.deployedAt,
      }),
    )
    yield* keyed(
      ctx,
      'sites',
      s.rows<SiteRow>(T.sites),
      (r) => r.appId,
      (site) => projectSiteForApi(appById.get(site.appId) as AppRow, site, subscription),
    )
    yield* keyed(
      ctx,
      'policies',
      s.rows<PolicyRow>(T.policies),
      (r) => r.appId,
      (p) => p.data,
    )
    yield* grouped(
      ctx,
      'pages',
      s.rows<PageRow>(T.appPages),
      (r) => r.appId,
      (p) => ({ ...p.data, createdAt: p.createdAt, updatedAt: p.updatedAt }),
      (p) => apiPageName(p.kind),
    )
    yield* grouped(
      ctx,
      'policyVersions',
      s.rows<VersionRow>(T.policyVersions),
      (r) => r.appId,
      (v) => ({
        versionId: v.id,
        snapshotAt: v.snapshotAt,
        trigger: v.trigger,
        appName: v.appName,
        policyData: v.policyData,
      }),
    )
    yield* grouped(
      ctx,
      'deployHistory',
      s.rows<DeployRow>(T.deploys),
      (r) => r.appId,
      (d) => ({
        deployId: d.id,
        deployedAt: d.deployedAt,
        url: d.url,
        pages: d.pages,
      }),
    )
    yield* single(ctx, 'subscription', subscription, (sub) => ({
      id: sub.id,
      subscriptionId: sub.stripeSubscriptionId,
      status: sub.status,
      planType: sub.planType,
      quantity: sub.quantity,
      cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
      currentPeriodEnd: sub.currentPeriodEnd,
      createdAt: sub.createdAt,
      updatedAt: sub.updatedAt,
    }))
    yield* list(ctx, 'apiKeys', s.rows<ApiKeyRow>(T.apiKeys), (k) => ({
      keyId: k.id,
      kind: k.kind,
      name: k.name,
      prefix: k.keyPrefix,
      scope: k.scope,
      isActive: k.isActive && k.revokedAt === null,
      createdAt: k.createdAt,
      lastUsedAt: k.lastUsedAt,
      revokedAt: k.revokedAt,
      expiresAt: k.expiresAt,
      rotationParentKeyId: k.rotationParentKeyId,
    }))
    // A user owns exactly one team today: their personal team.
    yield* single(ctx, 'team', first(s.rows<TeamRow>(T.teams)), (team) => ({
      id: team.id,
      name: team.name,
      slug: team.slug,
      quotaTierId: team.quotaTierId,
      createdAt: team.createdAt,
      updatedAt: team.updatedAt,
      softDeletedAt: team.softDeletedAt,
    }))
    yield* list(ctx, 'quotaUsage', s.rows<UsageRow>(T.quotaUsage), (u) => ({
      teamId: u.teamId,
      usageDate: u.usageDate,
      sandboxCreates: u.sandboxCreates,
      gbHours: u.gbHours,
      updatedAt: u.updatedAt,
    }))
    yield* list(ctx, 'sandboxes', s.rows<SandboxRow>(T.sandboxes), (sb) => ({
      id: sb.id,
      template: sb.template,
      status: sb.status,
      config: { vcpus: sb.vcpus, memoryMb: sb.memoryMb, diskMb: sb.diskMb },
      metadata: sb.metadata,
      timeoutMs: sb.timeoutMs,
      timeoutAction: sb.timeoutAction,
      timeoutAt: sb.timeoutAt,
      startedAt: sb.startedAt,
      destroyedAt: sb.destroyedAt,
      createdAt: sb.createdAt,
      updatedAt: sb.updatedAt,
    }))
    // That a hold exists, and why unless the operator marked it confidential.
    yield* single(ctx, 'legalHold', first(s.rows<LegalHoldRow>(T.legalHolds)), (h) => ({
      userId: h.userId,
      placedAt: h.placedAt,
      until: h.until,
      releasedAt: h.releasedAt,
      reason: h.confidential ? null : h.reason,
      confidential: h.confidential,
    }))
  },
}
assertPlanCoversRegistry(apiExportPlan)
