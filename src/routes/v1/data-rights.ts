import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { AppError } from '../../errors'
import { decodePageToken, encodePageToken } from '../../lib/page-token'
import { openReceiptLink } from '../../lib/receipt-link'
import { principalContext } from '../../plugins/principal'
import {
  projectHoldForV1,
  projectRetentionForV1,
  V1LegalHold,
  V1RetentionAccount,
} from '../../projections/data-rights'
import { DateTime, Int, nullable } from '../../projections/schema-helpers'
import { pendingErasureOf } from '../../services/deletion'
import {
  certificateJwks,
  certificateOf,
  latestCertificateOf,
  listCertificates,
} from '../../services/erasure-certificates'
import { listHolds, placeHold, releaseHold } from '../../services/legal-holds'
import { retentionList } from '../../services/retention'
import { DryRunQuery, v1Doc, v1DocEmpty } from '../openapi'

const UserParams = t.Object({ user_id: t.String({ maxLength: 100 }) })
const Paging = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 200 })),
  next_token: t.Optional(t.String({ maxLength: 512 })),
})

/** A certificate as served: its exact signed bytes, as a download. */
const certificateResponse = (erasureId: string, document: string) =>
  new Response(document, {
    headers: {
      'content-type': 'application/json',
      'content-disposition': `attachment; filename="erasure-certificate-${erasureId}.json"`,
      'cache-control': 'no-store',
    },
  })

/** Served as its exact bytes (a Response), so this only describes it. */
const CertificateBody = t.Object(
  {
    payload: t.Object({}, { additionalProperties: true }),
    signature: t.Object({}, { additionalProperties: true }),
  },
  {
    description:
      'The signed certificate (`{payload, signature}` in canonical JSON: keep the bytes as they are). Verify it offline with `custodian verify-certificate` (docs/erasure-proof.md).',
  },
)

/** Legal holds, retention, erasure certificates and the erased user's receipt link (docs/erasure-proof.md). */
export const v1DataRightsRoutes = (deps: AppDeps) => {
  const { store, clock } = deps
  return new Elysia()
    .use(principalContext)
    .put(
      '/v1/admin/users/:user_id/legal-hold',
      async ({ params, body }) => {
        const until = body.until === undefined || body.until === null ? null : Date.parse(body.until)
        if (until !== null && until <= clock.now())
          throw new AppError('VALIDATION_FAILED', 'Validation failed: until: must be in the future', {
            issues: [{ path: ['until'], message: 'must be in the future' }],
          })
        const row = await placeHold(deps, params.user_id, {
          reason: body.reason,
          until,
          confidential: body.confidential ?? false,
        })
        return { legal_hold: projectHoldForV1(row) }
      },
      {
        params: UserParams,
        body: t.Object({
          reason: t.String({ minLength: 1, maxLength: 1000, error: 'must be 1–1000 characters' }),
          until: t.Optional(nullable(DateTime)),
          confidential: t.Optional(t.Boolean()),
        }),
        ...v1Doc({
          operationId: 'adminPlaceLegalHold',
          summary: 'Place (or change) a legal hold: no deletion path erases the account while it stands',
          description:
            'Every erasure of the account (the user’s own, the grace purge, an operator’s, retention, a restore’s replay) is refused with 409 `legal_hold` and recorded as `blocked_legal_hold`; releasing the hold completes them. `until` lets it lapse by itself. Keep personal data out of `reason`: it is kept in the erasure ledger. 409 `conflict` when the account’s erasure is already under way.',
          tag: 'admin',
          ok: { 200: t.Object({ legal_hold: V1LegalHold }) },
          errors: [403, 404, 409],
          body: true,
          idempotent: true,
        }),
      },
    )
    .delete(
      '/v1/admin/users/:user_id/legal-hold',
      async ({ params }) => {
        if (!(await releaseHold(deps, params.user_id)))
          throw new AppError('NOT_FOUND', 'The account has no standing legal hold.')
        return new Response(null, { status: 204 })
      },
      {
        params: UserParams,
        ...v1DocEmpty({
          operationId: 'adminReleaseLegalHold',
          summary: 'Release the hold; erasures it blocked complete at the worker’s next pass',
          tag: 'admin',
          ok: { 204: null },
          errors: [403, 404],
          idempotent: true,
        }),
      },
    )
    .get(
      '/v1/admin/legal-holds',
      async ({ query }) => {
        const after = query.next_token ? decodePageToken(query.next_token, { id: 'string' }).id : null
        const page = await listHolds(store, query.limit ?? 50, after)
        const last = page.rows.at(-1)
        return {
          legal_holds: page.rows.map(projectHoldForV1),
          next_token: page.hasMore && last ? encodePageToken({ id: last.userId }) : null,
        }
      },
      {
        query: Paging,
        ...v1Doc({
          operationId: 'adminListLegalHolds',
          summary: 'Standing legal holds',
          tag: 'admin',
          ok: { 200: t.Object({ legal_holds: t.Array(V1LegalHold), next_token: nullable(t.String()) }) },
          errors: [400, 403],
        }),
      },
    )
    .get(
      '/v1/admin/retention',
      async ({ query }) => {
        const after = query.next_token ? decodePageToken(query.next_token, { id: 'string' }).id : null
        const page = await retentionList(deps, {
          dryRun: query.dryRun === true,
          limit: query.limit ?? 50,
          after,
        })
        const last = page.rows.at(-1)
        const policy = deps.config.retention
        return {
          enabled: policy !== null,
          inactive_days: policy ? policy.inactiveMs / 86_400_000 : null,
          warning_days: policy ? policy.warningMs / 86_400_000 : null,
          dry_run: query.dryRun === true,
          accounts: page.rows.map(projectRetentionForV1),
          next_token: page.hasMore && last ? encodePageToken({ id: last.userId }) : null,
        }
      },
      {
        query: t.Composite([Paging, DryRunQuery]),
        ...v1Doc({
          operationId: 'adminRetention',
          summary:
            'Accounts warned of inactivity; with ?dryRun=true, every account the next pass would warn too',
          tag: 'admin',
          ok: {
            200: t.Object({
              enabled: t.Boolean({ description: 'Whether RETENTION_INACTIVE_DAYS is set' }),
              inactive_days: nullable(t.Number()),
              warning_days: nullable(t.Number()),
              dry_run: t.Boolean(),
              accounts: t.Array(V1RetentionAccount),
              next_token: nullable(t.String()),
            }),
          },
          errors: [400, 403],
        }),
      },
    )
    .get(
      '/v1/admin/deletions/:deletion_id/certificate',
      async ({ params }) => {
        const document = await certificateOf(store, params.deletion_id)
        if (!document)
          throw new AppError('NOT_FOUND', 'No certificate: no such erasure, or it has not completed.')
        return certificateResponse(params.deletion_id, document)
      },
      {
        params: t.Object({ deletion_id: t.String({ maxLength: 100 }) }),
        ...v1Doc({
          operationId: 'adminErasureCertificate',
          summary: 'The signed certificate of a completed erasure',
          tag: 'admin',
          ok: { 200: CertificateBody },
          errors: [403, 404],
        }),
      },
    )
    .get(
      '/v1/admin/erasure-certificates',
      async ({ query }) => {
        const after = query.after_seq ?? 0
        const page = await listCertificates(store, after, query.limit ?? 100)
        const last = page.rows.at(-1)
        return {
          certificates: page.rows.map((r) => ({ seq: r.seq, erasure_id: r.erasureId, document: r.document })),
          next_after_seq: page.hasMore && last ? last.seq : null,
        }
      },
      {
        query: t.Object({
          after_seq: t.Optional(t.Integer({ minimum: 0 })),
          limit: t.Optional(t.Integer({ minimum: 1, maximum: 1000 })),
        }),
        ...v1Doc({
          operationId: 'adminListErasureCertificates',
          summary: 'The certificate chain in order (write each document to a file to verify it with --chain)',
          tag: 'admin',
          ok: {
            200: t.Object({
              certificates: t.Array(
                t.Object({
                  seq: Int(),
                  erasure_id: t.String(),
                  document: t.String({ description: 'The certificate’s exact bytes' }),
                }),
              ),
              next_after_seq: nullable(Int()),
            }),
          },
          errors: [400, 403],
        }),
      },
    )
    .get('/.well-known/custodian/erasure-keys', () => certificateJwks(store), {
      detail: {
        operationId: 'erasureCertificateKeys',
        summary: 'Public keys (JWKS) that verify erasure certificates, earlier keys included',
        tags: ['/v1 admin'],
        security: [],
        responses: { 200: { description: 'A JWK Set (EdDSA, Ed25519)' } },
      },
    })
    .get(
      '/v1/erasure-receipts/:token',
      async ({ params }) => {
        const opened = openReceiptLink(params.token, clock.now())
        if (opened === null) throw new AppError('NOT_FOUND', 'No such receipt link.')
        if (opened === 'expired') throw new AppError('LINK_EXPIRED', 'This receipt link has expired.')
        const certificate = await latestCertificateOf(store, opened.userHash)
        if (certificate) return certificateResponse(certificate.erasureId, certificate.document)
        const pending = await pendingErasureOf(store, opened.userHash)
        return Response.json(
          {
            status: pending?.step ?? 'pending',
            message:
              'No erasure has completed under this link yet: the certificate appears here once it has (a scheduled deletion waits for its grace period).',
          },
          { status: 202, headers: { 'cache-control': 'no-store' } },
        )
      },
      {
        params: t.Object({ token: t.String({ maxLength: 200 }) }),
        ...v1Doc({
          operationId: 'erasureReceipt',
          summary:
            'The erased user’s certificate, through the link given when the erasure was requested (no credential)',
          description:
            '200 with the signed certificate once the erasure has completed; 202 while it has not; 410 after a year; 404 for a link that is not ours.',
          tag: 'account',
          ok: {
            200: CertificateBody,
            202: t.Object({ status: t.String(), message: t.String() }),
          },
          errors: [400, 404, 410],
          public: true,
        }),
      },
    )
}
