import { Elysia, t } from 'elysia'
import { readTransaction, writeTransaction } from '../../../db/store'
import type { AppDeps } from '../../deps'
import { AppError } from '../../errors'
import { decodePageToken, encodePageToken } from '../../lib/page-token'
import { principalContext } from '../../plugins/principal'
import { markSecretResponse } from '../../plugins/request-state'
import {
  projectPreviewForV1,
  projectReceiptForV1,
  V1DeletionPreview,
  V1DeletionReceipt,
} from '../../projections/deletion'
import { nullable } from '../../projections/schema-helpers'
import {
  projectKeyRowForV1,
  projectSandboxForV1,
  projectTeamForV1,
  projectTierForV1,
  projectUsageForV1,
  projectUserForV1,
  V1KeyRow,
  V1QuotaTier,
  V1QuotaUsage,
  V1Sandbox,
  V1Team,
  V1User,
} from '../../projections/v1'
import { createUserWithTeam, personalTeam, quotaTier, recentUsage } from '../../services/accounts'
import { requireUser, searchUsers, setQuotaTier, userKeysAndSandboxes } from '../../services/admin'
import { eraseAccount, listDeletions, previewDeletion } from '../../services/deletion'
import { processorsOf } from '../../services/erasure-processors'
import { createKey } from '../../services/keys'
import { activeSandboxCount } from '../../services/sandbox-lifecycle'
import { DryRunQuery, v1Doc } from '../openapi'

const UserParams = t.Object({ user_id: t.String({ maxLength: 100 }) })

const AdminUserDetail = t.Object({
  user: V1User,
  team: V1Team,
  quota_tier: V1QuotaTier,
  quota_usage: t.Array(V1QuotaUsage),
  api_keys: t.Array(V1KeyRow),
  sandboxes: t.Array(V1Sandbox, { description: 'The 100 most recent sandboxes' }),
})

const OperatorKey = t.Object({
  id: t.String({ format: 'uuid' }),
  key: t.String({ examples: ['ns_live_beta_0123456789abcdef0123456789abcdef'] }),
  prefix: t.String(),
  scope: t.Literal('operator'),
  name: nullable(t.String()),
})

export const v1AdminRoutes = (deps: AppDeps) => {
  const { store, clock } = deps
  return new Elysia({ prefix: '/v1/admin' })
    .use(principalContext)
    .get(
      '/users',
      async ({ query }) => {
        const after = query.next_token ? decodePageToken(query.next_token, { after: 'string' }).after : null
        const page = await searchUsers(store, query.query ?? '', query.limit ?? 50, after)
        return {
          users: page.users.map(projectUserForV1),
          next_token: page.lastId ? encodePageToken({ after: page.lastId }) : null,
        }
      },
      {
        query: t.Object({
          query: t.Optional(t.String({ maxLength: 254 })),
          limit: t.Optional(t.Integer({ minimum: 1, maximum: 200 })),
          next_token: t.Optional(t.String({ maxLength: 512 })),
        }),
        ...v1Doc({
          operationId: 'adminListUsers',
          summary: 'Search users by email, paged',
          tag: 'admin',
          ok: { 200: t.Object({ users: t.Array(V1User), next_token: nullable(t.String()) }) },
          errors: [400, 403],
        }),
      },
    )
    .get(
      '/users/:user_id',
      ({ params }) =>
        readTransaction(store, async (tx) => {
          const user = await requireUser(tx, params.user_id)
          const team = await personalTeam(tx, user.id)
          const { keys, sandboxes } = await userKeysAndSandboxes(tx, user.id, team.id)
          return {
            user: projectUserForV1(user),
            team: projectTeamForV1(team),
            quota_tier: projectTierForV1(await quotaTier(tx, team.quotaTierId)),
            quota_usage: (await recentUsage(tx, team.id, clock)).map(projectUsageForV1),
            api_keys: keys.map(projectKeyRowForV1),
            sandboxes: sandboxes.map(projectSandboxForV1),
          }
        }),
      {
        params: UserParams,
        ...v1Doc({
          operationId: 'adminGetUser',
          summary: 'A user with team, tier, usage, keys and sandboxes',
          tag: 'admin',
          ok: { 200: AdminUserDetail },
          errors: [403, 404],
        }),
      },
    )
    .post(
      '/users',
      async ({ body, set }) => {
        // Decision: the operator vouches for the address, so it starts verified.
        const { user } = await writeTransaction(store, (tx) =>
          createUserWithTeam(tx, clock, {
            email: body.email,
            isOperator: body.is_operator ?? false,
            emailVerified: true,
          }),
        )
        set.status = 201
        return projectUserForV1(user)
      },
      {
        body: t.Object({
          email: t.String({ format: 'email', maxLength: 254, error: 'must be an email address' }),
          is_operator: t.Optional(t.Boolean()),
        }),
        ...v1Doc({
          operationId: 'adminCreateUser',
          summary: 'Create a user (servers without self-serve sign-in)',
          tag: 'admin',
          ok: { 201: V1User },
          errors: [403, 409],
          body: true,
          idempotent: true,
        }),
      },
    )
    .post(
      '/users/:user_id/keys',
      async ({ params, body, set, request }) => {
        markSecretResponse(request)
        const { user, team } = await readTransaction(store, async (tx) => {
          const user = await requireUser(tx, params.user_id)
          return { user, team: await personalTeam(tx, user.id) }
        })
        if (user.softDeletedAt !== null)
          throw new AppError('CONFLICT', 'The account is scheduled for deletion.')
        const minted = await createKey(store, clock, {
          userId: user.id,
          teamId: team.id,
          kind: 'operator',
          name: body?.name ?? null,
          scope: 'operator',
          enforceLimit: false,
        })
        set.status = 201
        return {
          id: minted.row.id,
          key: minted.plaintext,
          prefix: minted.row.keyPrefix,
          scope: 'operator' as const,
          name: minted.row.name,
        }
      },
      {
        params: UserParams,
        body: t.Optional(
          t.Object({ name: t.Optional(nullable(t.String({ minLength: 1, maxLength: 100 }))) }),
        ),
        ...v1Doc({
          operationId: 'adminCreateUserKey',
          summary: 'Mint a beta key (ns_live_beta_…) for a user',
          tag: 'admin',
          ok: { 201: OperatorKey },
          errors: [403, 404, 409],
          body: true,
          idempotent: true,
        }),
      },
    )
    .put(
      '/users/:user_id/tier',
      async ({ params, body }) => {
        const { user, team, tier } = await setQuotaTier(store, clock, params.user_id, body.quota_tier_id)
        return {
          user: projectUserForV1(user),
          team: projectTeamForV1(team),
          quota_tier: projectTierForV1(tier),
        }
      },
      {
        params: UserParams,
        body: t.Object({ quota_tier_id: t.String({ minLength: 1, maxLength: 64 }) }),
        ...v1Doc({
          operationId: 'adminSetUserTier',
          summary: 'Move a user and its personal team to a quota tier',
          tag: 'admin',
          ok: { 200: t.Object({ user: V1User, team: V1Team, quota_tier: V1QuotaTier }) },
          errors: [403, 404],
          body: true,
          idempotent: true,
        }),
      },
    )
    .delete(
      '/users/:user_id',
      async ({ params, query }) => {
        const { user, active } = await readTransaction(store, async (tx) => {
          const user = await requireUser(tx, params.user_id)
          return { user, active: await activeSandboxCount(tx, (await personalTeam(tx, user.id)).id) }
        })
        if (user.softDeletedAt === null)
          throw new AppError(
            'ACCOUNT_NOT_SOFT_DELETED',
            'Hard delete needs the account to be soft-deleted first (DELETE /v1/account/me).',
          )
        if (active > 0)
          throw new AppError(
            'ACCOUNT_HARD_DELETE_ACTIVE_RESOURCES',
            `The account still has ${active} running, creating or paused sandbox(es).`,
            {
              detail: { active_sandboxes: active },
            },
          )
        if (query.dryRun === true) return projectPreviewForV1(await previewDeletion(deps, user.id))
        const receipt = await eraseAccount(deps, user.id, 'operator')
        const processors = await readTransaction(store, (tx) => processorsOf(tx, [receipt.id]))
        return { deletion: projectReceiptForV1(receipt, processors.get(receipt.id)) }
      },
      {
        params: UserParams,
        query: DryRunQuery,
        ...v1Doc({
          operationId: 'adminHardDeleteUser',
          summary: 'Erase a soft-deleted account now (Stripe first), answering its receipt',
          tag: 'admin',
          ok: { 200: t.Union([t.Object({ deletion: V1DeletionReceipt }), V1DeletionPreview]) },
          errors: [403, 404, 409, 503],
          idempotent: true,
        }),
      },
    )
    .get(
      '/deletions',
      async ({ query }) => {
        const before = query.next_token
          ? decodePageToken(query.next_token, { at: 'number', id: 'string' })
          : null
        const page = await listDeletions(
          store,
          query.limit ?? 50,
          before ? { requestedAt: before.at, id: before.id } : null,
        )
        const last = page.rows.at(-1)
        return {
          deletions: page.rows.map((row) => projectReceiptForV1(row, page.processors.get(row.id))),
          next_token: page.hasMore && last ? encodePageToken({ at: last.requestedAt, id: last.id }) : null,
        }
      },
      {
        query: t.Object({
          limit: t.Optional(t.Integer({ minimum: 1, maximum: 200 })),
          next_token: t.Optional(t.String({ maxLength: 512 })),
        }),
        ...v1Doc({
          operationId: 'adminListDeletions',
          summary: 'Deletion jobs and receipts (PII-free), newest first',
          tag: 'admin',
          ok: { 200: t.Object({ deletions: t.Array(V1DeletionReceipt), next_token: nullable(t.String()) }) },
          errors: [400, 403],
        }),
      },
    )
}
