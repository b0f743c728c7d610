import { Elysia } from 'elysia'
import { readTransaction } from '../../../db/store'
import type { AppDeps } from '../../deps'
import { jsonResponse } from '../../lib/adopt-headers'
import { receiptUrl } from '../../lib/receipt-link'
import { bearerToken } from '../../plugins/bearer-auth'
import { parseIdempotencyKey } from '../../plugins/idempotency/header'
import { principalContext } from '../../plugins/principal'
import { stateOf } from '../../plugins/request-state'
import { routeOptions } from '../../plugins/route-options'
import { ApiAccount, ApiStatus, projectAccountForApi, projectStatusForApi } from '../../projections/api'
import { ApiDeletionPreview, projectPreviewForApi } from '../../projections/deletion'
import { apiExportPlan } from '../../projections/export-api'
import { accountOverview, accountStatus, deployedApps } from '../../services/account-overview'
import { deletionReplayHash, eraseAccount, hasDeletionReplay, previewDeletion } from '../../services/deletion'
import { ApiExportDocument, exportResponse } from '../export-response'
import { apiDoc, apiDocEmpty, DryRunQuery } from '../openapi'

export const apiAccountRoutes = (deps: AppDeps) => {
  const { store } = deps
  return (
    new Elysia({ prefix: '/api' })
      .use(principalContext)
      .use(routeOptions)
      // The busiest /api route, answered as a finished Response: Elysia's response Clean/Check and
      // its merge of the pipeline's headers into a second Response are skipped. The projection
      // builds exactly the schema's fields; test/api/account.test.ts checks answers against ApiStatus.
      .get(
        '/status',
        ({ principal, set }) => {
          // Synchronous when the answer is cached (nearly always: clients poll this route).
          const status = accountStatus(store, principal.userId)
          if (!(status instanceof Promise)) return jsonResponse(set, projectStatusForApi(status))
          // Elysia awaits a promised Response as it does a Response; its types take one or the other.
          return status.then((s) => jsonResponse(set, projectStatusForApi(s))) as unknown as Response
        },
        {
          ...apiDoc({
            operationId: 'getStatus',
            summary: 'Subscription and app summary',
            tag: 'account',
            ok: { 200: ApiStatus },
          }),
        },
      )
      .get(
        '/account',
        async ({ principal }) => {
          const overview = await accountOverview(store, principal.userId)
          const apps = await readTransaction(store, (tx) => deployedApps(tx, principal.userId))
          return projectAccountForApi(overview, apps)
        },
        {
          ...apiDoc({
            operationId: 'getAccount',
            summary: 'Profile, stats, payment method and subscription (both field generations)',
            tag: 'account',
            ok: { 200: ApiAccount },
          }),
        },
      )
      .get('/account/export', ({ principal }) => exportResponse(deps, principal.userId, apiExportPlan), {
        rateLimit: 'export',
        ...apiDoc({
          operationId: 'exportAccount',
          summary: 'Export all account data as a JSON download',
          description:
            'Streams everything held about the account from one consistent snapshot; `_manifest` counts every section.',
          tag: 'account',
          ok: { 200: ApiExportDocument },
        }),
      })
      .delete(
        '/account',
        async ({ principal, query, request }) => {
          if (query.dryRun === true)
            return Response.json(projectPreviewForApi(await previewDeletion(deps, principal.userId)))
          const token = bearerToken(request)
          const key = stateOf(request).idempotency?.key
          await eraseAccount(
            deps,
            principal.userId,
            'immediate',
            token && key ? deletionReplayHash(token, key) : null,
          )
          // The erased user's way to their certificate: no account is needed to follow it.
          return new Response(null, {
            status: 204,
            headers: {
              'erasure-receipt': receiptUrl(deps.config.publicUrl, principal.userId, deps.clock.now()),
            },
          })
        },
        {
          query: DryRunQuery,
          rateLimit: 'account-delete',
          ...apiDocEmpty({
            operationId: 'deleteAccount',
            summary: 'Delete the account now: Stripe first, then every row and file',
            description:
              'Cancels every subscription and deletes the customer at Stripe, then erases all data. If Stripe cannot be reached nothing is deleted (502 PAYMENT_ERROR) and the call can be retried. `?dryRun=true` answers 200 with what would be erased. The 204 carries `Erasure-Receipt`: a link (valid a year, no credential) to the signed erasure certificate. A held account answers 409 `LEGAL_HOLD` (recorded; completed when the hold is released).',
            tag: 'account',
            ok: { 200: ApiDeletionPreview, 204: null },
            errors: [400, 409, 502],
            idempotent: true,
          }),
        },
      )
  )
}

/**
 * A retried DELETE /api/account (same credential, same Idempotency-Key) after the account is gone
 * replays its 204 rather than a 401 (docs/spec/data-rights.md §2): the credential no longer exists, but the
 * receipt remembers a hash of it with the key.
 */
export function replayCompletedDeletion({ store }: AppDeps) {
  return (request: Request, token: string | null): Response | null | Promise<Response | null> => {
    if (request.method !== 'DELETE' || stateOf(request).path !== '/api/account' || !token) return null
    const raw = request.headers.get('idempotency-key')
    if (!raw) return null
    let key: string
    try {
      key = parseIdempotencyKey(raw)
    } catch {
      return null
    }
    return hasDeletionReplay(store, token, key).then((replayed) =>
      replayed ? new Response(null, { status: 204, headers: { 'idempotent-replayed': 'true' } }) : null,
    )
  }
}
