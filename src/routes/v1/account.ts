import { Elysia, t } from 'elysia'
import { readTransaction } from '../../../db/client'
import type { AppDeps } from '../../deps'
import { principalContext } from '../../plugins/principal'
import { routeOptions } from '../../plugins/route-options'
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
import { exportResponse, V1ExportDocument } from '../export-response'
import { v1Doc } from '../openapi'

export const V1Account = t.Object({
  user: V1User,
  team: V1Team,
  quota_tier: V1QuotaTier,
  quota_usage: t.Array(V1QuotaUsage),
  email_verified: t.Boolean(),
  session_email: nullable(t.String()),
})

/** `GET /v1/account/me`: the user, its personal team, tier and the last 30 days of usage. */
export function accountForV1({ store, clock }: Pick<AppDeps, 'store' | 'clock'>, principal: Principal) {
  return readTransaction(store, () => readAccountForV1(store, clock, principal))
}

function readAccountForV1(store: AppDeps['store'], clock: AppDeps['clock'], principal: Principal) {
  const user = getUser(store, principal.userId)
  if (!user) throw new Error('authenticated user vanished')
  const team = personalTeam(store, user.id)
  return {
    user: projectUserForV1(user),
    team: projectTeamForV1(team),
    quota_tier: projectTierForV1(quotaTier(store, team.quotaTierId)),
    quota_usage: recentUsage(store, team.id, clock).map(projectUsageForV1),
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
    .get('/me', ({ principal }) => accountForV1(deps, principal), {
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
      ({ principal, body }) => {
        updateProfile(deps.store, deps.clock, principal.userId, {
          displayName: body.display_name,
          avatarUrl: body.avatar_url,
          name: body.name,
        })
        return accountForV1(deps, principal)
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
