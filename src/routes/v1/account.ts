import { Elysia, t } from 'elysia'
import { readTransaction, type Tx } from '../../../db/store'
import type { AppDeps } from '../../deps'
import { AppError } from '../../errors'
import { jsonResponse } from '../../lib/adopt-headers'
import { receiptUrl } from '../../lib/receipt-link'
import { principalContext } from '../../plugins/principal'
import { routeOptions } from '../../plugins/route-options'
import { projectPreviewForV1, V1DeletionPreview } from '../../projections/deletion'
import { v1ExportPlan } from '../../projections/export-v1'
import { nullable } from '../../projections/schema-helpers'
import {
  projectTeamForV1,
  projectTierForV1,
  projectUsageForV1,
  projectUserForV1,
  V1QuotaTier,
  V1QuotaUsage,
  V1Team,
  V1User,
} from '../../projections/v1'
import { getUser, personalTeam, quotaTier, recentUsage, updateProfile } from '../../services/accounts'
import type { Principal } from '../../services/credentials'
import { previewDeletion, refuseIfHeldNow } from '../../services/deletion'
import { restoreAccount, softDeleteAccount } from '../../services/soft-delete'
import { exportResponse, V1ExportDocument } from '../export-response'
import { DryRunQuery, v1Doc, v1DocEmpty } from '../openapi'

export const V1Account = t.Object({
  user: V1User,
  team: V1Team,
  quota_tier: V1QuotaTier,
  quota_usage: t.Array(V1QuotaUsage),
  email_verified: t.Boolean(),
  session_email: nullable(t.String()),
})

const V1AccountDeletionScheduled = t.Object({
  ...V1Account.properties,
  receipt_url: t.String({
    format: 'uri',
    description:
      'Where the signed erasure certificate appears once the account is erased (valid a year, no credential)',
  }),
})

/** `GET /v1/account/me`: the user, its personal team, tier and the last 30 days of usage. */
export function accountForV1({ store, clock }: Pick<AppDeps, 'store' | 'clock'>, principal: Principal) {
  return readTransaction(store, (tx) => readAccountForV1(tx, clock, principal))
}

async function readAccountForV1(tx: Tx, clock: AppDeps['clock'], principal: Principal) {
  const user = await getUser(tx, principal.userId)
  if (!user) throw new Error('authenticated user vanished')
  const team = await personalTeam(tx, user.id)
  return {
    user: projectUserForV1(user),
    team: projectTeamForV1(team),
    quota_tier: projectTierForV1(await quotaTier(tx, team.quotaTierId)),
    quota_usage: (await recentUsage(tx, team.id, clock)).map(projectUsageForV1),
    email_verified: principal.emailVerified || user.emailVerifiedAt !== null,
    session_email: principal.sessionEmail,
  }
}

const ShortText = nullable(t.String({ maxLength: 200, error: 'must be at most 200 characters' }))
const AvatarUrl = nullable(
  t.String({
    maxLength: 2048,
    pattern: '^https?://[^\\s]+$',
    error: 'must be an http(s) URL of at most 2048 characters',
  }),
)

export const v1AccountRoutes = (deps: AppDeps) =>
  new Elysia({ prefix: '/v1/account' })
    .use(principalContext)
    .use(routeOptions)
    .get('/export', ({ principal }) => exportResponse(deps, principal.userId, v1ExportPlan), {
      rateLimit: 'export',
      ...v1Doc({
        operationId: 'exportAccountV1',
        summary: 'Export all account data (also during the deletion grace period)',
        tag: 'account',
        ok: { 200: V1ExportDocument },
        errors: [403],
      }),
    })
    // A finished Response (no interpreted response clean and check: a third of the route's time, in
    // process): the projection builds exactly V1Account, which test/v1/account.test.ts checks.
    .get('/me', async ({ principal, set }) => jsonResponse(set, await accountForV1(deps, principal)), {
      ...v1Doc({
        operationId: 'getMe',
        summary: 'The account, its team, tier and recent usage',
        tag: 'account',
        ok: { 200: V1Account },
        errors: [403],
      }),
    })
    .patch(
      '/me',
      async ({ principal, body, set }) => {
        await updateProfile(deps.store, deps.clock, principal.userId, {
          displayName: body.display_name,
          avatarUrl: body.avatar_url,
          name: body.name,
        })
        return jsonResponse(set, await accountForV1(deps, principal))
      },
      {
        body: t.Object({
          display_name: t.Optional(ShortText),
          avatar_url: t.Optional(AvatarUrl),
          name: t.Optional(ShortText),
        }),
        ...v1Doc({
          operationId: 'updateMe',
          summary: 'Update display name, avatar URL or name',
          tag: 'account',
          ok: { 200: V1Account },
          errors: [403],
          body: true,
          idempotent: true,
        }),
      },
    )
    .delete(
      '/me',
      ({ principal, query, set }) => requestV1Deletion(deps, principal, query.dryRun === true, set),
      {
        query: DryRunQuery,
        rateLimit: 'account-delete',
        ...v1DocEmpty(deleteDoc('deleteMe')),
      },
    )
    .post(
      '/delete',
      ({ principal, query, set }) => requestV1Deletion(deps, principal, query.dryRun === true, set),
      {
        query: DryRunQuery,
        rateLimit: 'account-delete',
        ...v1DocEmpty(deleteDoc('requestAccountDeletion')),
      },
    )
    .post(
      '/restore',
      async ({ principal }) => {
        await restoreAccount(deps, principal.userId)
        return accountForV1(deps, { ...principal, softDeleted: false })
      },
      {
        rateLimit: 'account-delete',
        ...v1Doc({
          operationId: 'restoreAccount',
          summary: 'Cancel a pending deletion during the grace period',
          tag: 'account',
          ok: { 200: V1Account },
          errors: [403, 409, 503],
          idempotent: true,
        }),
      },
    )

const deleteDoc = (operationId: string) => ({
  operationId,
  summary: 'Schedule the account for deletion after the grace period',
  description:
    'Soft delete: runtime keys stop, running sandboxes are destroyed and the subscription is set to cancel at period end. The account is erased when the grace period (ACCOUNT_DELETION_GRACE_DAYS) ends unless restored. `?dryRun=true` answers 200 with what the erasure would remove. The 202 carries `receipt_url`: a link (valid a year, no credential) where the signed erasure certificate appears once the erasure has completed. A held account answers 409 `legal_hold` (recorded; completed when the hold is released).',
  tag: 'account',
  ok: { 200: V1DeletionPreview, 202: V1AccountDeletionScheduled },
  errors: [403, 409, 503],
  idempotent: true,
})

/** Stage 1 of the /v1 deletion (or its dry run). Needs a verified email. */
async function requestV1Deletion(
  deps: AppDeps,
  principal: Principal,
  dryRun: boolean,
  set: { status?: number | string },
) {
  if (!principal.emailVerified)
    throw new AppError('EMAIL_NOT_VERIFIED', 'Verify your email address before deleting the account.')
  if (dryRun) return projectPreviewForV1(await previewDeletion(deps, principal.userId))
  // A held account's request is refused here (and recorded), not only when the grace period ends.
  await refuseIfHeldNow(deps, principal.userId, 'scheduled')
  await softDeleteAccount(deps, principal.userId)
  set.status = 202
  return {
    ...(await accountForV1(deps, { ...principal, softDeleted: true })),
    receipt_url: receiptUrl(deps.config.publicUrl, principal.userId, deps.clock.now()),
  }
}
