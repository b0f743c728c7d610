import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { principalContext } from '../../plugins/principal'
import { markSecretResponse } from '../../plugins/request-state'
import { routeOptions } from '../../plugins/route-options'
import { nullable } from '../../projections/schema-helpers'
import { projectKeyForV1, projectMintedKeyForV1, V1Key, V1MintedKey } from '../../projections/v1'
import { createKey, listAllKeys, revokeKey, rotateKey, V1_FAMILY } from '../../services/keys'
import { v1Doc, v1DocEmpty } from '../openapi'

const KeyName = nullable(t.String({ minLength: 1, maxLength: 100, error: 'must be 1–100 characters' }))
/** Free-form label; `operator` is reserved for keys an operator mints. */
const Scope = nullable(
  t.String({
    minLength: 1,
    maxLength: 100,
    pattern: '^(?!operator$)[A-Za-z0-9:_.,*-]+$',
    error: 'must be 1–100 of A-Z a-z 0-9 : _ . , * - (and not "operator")',
  }),
)
const KeyParams = t.Object({ id: t.String({ maxLength: 100 }) })
export const DEFAULT_RUNTIME_SCOPE = 'sandboxes'

export const v1KeyRoutes = ({ store, clock }: AppDeps) =>
  new Elysia({ prefix: '/v1/keys' })
    .use(principalContext)
    .use(routeOptions)
    .post(
      '',
      async ({ principal, body, set, request }) => {
        markSecretResponse(request)
        const minted = await createKey(store, clock, {
          userId: principal.userId,
          teamId: principal.teamId,
          kind: 'runtime',
          name: body?.name ?? null,
          scope: body?.scope ?? DEFAULT_RUNTIME_SCOPE,
        })
        set.status = 201
        return projectMintedKeyForV1(minted)
      },
      {
        body: t.Optional(t.Object({ name: t.Optional(KeyName), scope: t.Optional(Scope) })),
        rateLimit: 'keys-create',
        ...v1Doc({
          operationId: 'createKey',
          summary: 'Create a runtime API key; the key appears only in this answer',
          tag: 'keys',
          ok: { 201: V1MintedKey },
          errors: [403, 409],
          body: true,
          idempotent: true,
        }),
      },
    )
    .get(
      '',
      async ({ principal }) => (await listAllKeys(store, principal.userId, V1_FAMILY)).map(projectKeyForV1),
      {
        ...v1Doc({
          operationId: 'listKeys',
          summary: 'Runtime keys, including revoked and retiring ones',
          tag: 'keys',
          ok: { 200: t.Array(V1Key) },
          errors: [403],
        }),
      },
    )
    .post(
      '/:id/rotate',
      async ({ principal, params, body, set, request }) => {
        markSecretResponse(request)
        const minted = await rotateKey(store, clock, principal.userId, params.id, {
          name: body?.name,
          scope: body?.scope,
        })
        set.status = 201
        return projectMintedKeyForV1(minted)
      },
      {
        params: KeyParams,
        body: t.Optional(t.Object({ name: t.Optional(KeyName), scope: t.Optional(Scope) })),
        rateLimit: 'keys-create',
        ...v1Doc({
          operationId: 'rotateKey',
          summary: 'Replace a key; the old one keeps working for 24 hours',
          tag: 'keys',
          ok: { 201: V1MintedKey },
          errors: [403, 404, 409],
          body: true,
          idempotent: true,
        }),
      },
    )
    .delete(
      '/:id',
      async ({ principal, params }) => {
        await revokeKey(store, clock, principal.userId, params.id, V1_FAMILY, { requireActive: false })
        return new Response(null, { status: 204 })
      },
      {
        params: KeyParams,
        ...v1DocEmpty({
          operationId: 'revokeKey',
          summary: 'Revoke a key; it fails on its next use',
          tag: 'keys',
          ok: { 204: null },
          errors: [403, 404],
          idempotent: true,
        }),
      },
    )
