import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { principalContext } from '../../plugins/principal'
import { markSecretResponse } from '../../plugins/request-state'
import { routeOptions } from '../../plugins/route-options'
import { ApiKey, ApiMintedKey, projectKeyForApi, projectMintedKeyForApi } from '../../projections/api'
import { createKey, listActiveKeys, ORBIT_FAMILY, revokeKey } from '../../services/keys'
import { apiDoc, apiDocEmpty } from '../openapi'

const KeyName = t.String({ minLength: 1, maxLength: 100, error: 'must be 1–100 characters' })

export const apiKeyRoutes = ({ store, clock }: AppDeps) =>
  new Elysia({ prefix: '/api/api-keys' })
    .use(principalContext)
    .use(routeOptions)
    .get(
      '',
      async ({ principal }) =>
        (await listActiveKeys(store, clock, principal.userId, ORBIT_FAMILY)).map(projectKeyForApi),
      {
        ...apiDoc({
          operationId: 'listApiKeys',
          summary: 'Active API keys (never the secret)',
          tag: 'api keys',
          ok: { 200: t.Array(ApiKey) },
        }),
      },
    )
    .post(
      '',
      async ({ principal, body, set, request }) => {
        markSecretResponse(request)
        const minted = await createKey(store, clock, {
          userId: principal.userId,
          teamId: principal.teamId,
          kind: 'orbit',
          name: body.name,
          scope: null,
        })
        set.status = 201
        return projectMintedKeyForApi(minted)
      },
      {
        body: t.Object({ name: KeyName }),
        rateLimit: 'keys-create',
        ...apiDoc({
          operationId: 'createApiKey',
          summary: 'Create an API key; the key is shown only in this answer',
          tag: 'api keys',
          ok: { 201: ApiMintedKey },
          errors: [400],
          body: true,
          idempotent: true,
        }),
      },
    )
    .delete(
      '/:keyId',
      async ({ principal, params }) => {
        await revokeKey(store, clock, principal.userId, params.keyId, ORBIT_FAMILY, { requireActive: true })
        return new Response(null, { status: 204 })
      },
      {
        params: t.Object({ keyId: t.String({ maxLength: 100 }) }),
        ...apiDocEmpty({
          operationId: 'deleteApiKey',
          summary: 'Revoke an API key; it fails on its next use',
          tag: 'api keys',
          ok: { 204: null },
          errors: [404],
          idempotent: true,
        }),
      },
    )
