import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { AppError } from '../../errors'
import { decodePageToken, encodePageToken } from '../../lib/page-token'
import { principalContext } from '../../plugins/principal'
import { projectRequestForV1, RequestTypeSchema, V1DataRequest } from '../../projections/data-requests'
import { DateTime, nullable, oneOf } from '../../projections/schema-helpers'
import {
  createRequest,
  getRequest,
  listRequests,
  REQUEST_STATUSES,
  type Transition,
  transitionRequest,
} from '../../services/data-requests'
import { v1Doc } from '../openapi'

const RequestParams = t.Object({ request_id: t.String({ maxLength: 100 }) })
const Reason = t.Optional(
  nullable(t.String({ minLength: 1, maxLength: 2000, error: 'must be 1–2000 characters' })),
)

const TRANSITIONS: { path: Transition; summary: string; body: ReturnType<typeof t.Object> }[] = [
  {
    path: 'verify-identity',
    summary:
      '`verified: false`: identity is being checked — the clock pauses; `verified: true`: checked — it runs again, the deadline moved by the days paused',
    body: t.Object({ verified: t.Boolean(), reason: Reason }),
  },
  { path: 'start', summary: 'Work on the request has begun', body: t.Object({ reason: Reason }) },
  {
    path: 'extend',
    summary:
      'Extend the deadline once, by 1 or 2 months, with the reason told to the person (Art. 12(3)); a second answers 409',
    body: t.Object({
      months: t.Optional(t.Integer({ minimum: 1, maximum: 2, error: 'must be 1 or 2' })),
      reason: t.String({ minLength: 1, maxLength: 2000, error: 'must be 1–2000 characters' }),
    }),
  },
  {
    path: 'fulfil',
    summary: 'Answered: link the export or erasure that answered it',
    body: t.Object({
      export_id: t.Optional(nullable(t.String({ maxLength: 100 }))),
      erasure_id: t.Optional(nullable(t.String({ maxLength: 100 }))),
      reason: Reason,
    }),
  },
  {
    path: 'refuse',
    summary: 'Refused, with the reason (required)',
    body: t.Object({
      reason: t.String({ minLength: 1, maxLength: 2000, error: 'must be 1–2000 characters' }),
    }),
  },
  { path: 'withdraw', summary: 'Withdrawn by the person', body: t.Object({ reason: Reason }) },
]

/** The data-subject request case log (operators): docs/data-subject-requests.md. */
export const v1DataRequestRoutes = (deps: AppDeps) => {
  const { clock } = deps
  let routes = new Elysia()
    .use(principalContext)
    .post(
      '/v1/admin/requests',
      async ({ body, set }) => {
        if (!body.user_id && !body.email)
          throw new AppError('VALIDATION_FAILED', 'Validation failed: user_id: give user_id or email', {
            issues: [{ path: ['user_id'], message: 'give user_id or email' }],
          })
        const row = await createRequest(deps, {
          type: body.type as never,
          userId: body.user_id ?? undefined,
          email: body.email ?? undefined,
          receivedAt: body.received_at ? Date.parse(body.received_at) : undefined,
          channel: body.channel ?? null,
          note: body.note ?? null,
        })
        set.status = 201
        return projectRequestForV1(row, clock.now())
      },
      {
        body: t.Object({
          type: RequestTypeSchema,
          user_id: t.Optional(nullable(t.String({ maxLength: 100 }))),
          email: t.Optional(
            nullable(t.String({ format: 'email', maxLength: 320, error: 'must be an email address' })),
          ),
          received_at: t.Optional(nullable(DateTime)),
          channel: t.Optional(
            nullable(oneOf(['email', 'web', 'post', 'phone', 'in_person', 'api', 'other'])),
          ),
          note: t.Optional(nullable(t.String({ maxLength: 2000 }))),
        }),
        ...v1Doc({
          operationId: 'adminCreateRequest',
          summary: 'Record a data-subject request as received; its deadline is computed (Art. 12(3))',
          description:
            'For an account (`user_id`, or an `email` that has one) or for a person without one (`email`). `received_at` defaults to now: the clock starts on receipt.',
          tag: 'admin',
          ok: { 201: V1DataRequest },
          errors: [403, 404],
          body: true,
          idempotent: true,
        }),
      },
    )
    .get(
      '/v1/admin/requests',
      async ({ query }) => {
        const after = query.next_token
          ? decodePageToken(query.next_token, { at: 'number', id: 'string' })
          : null
        const page = await listRequests(
          deps,
          {
            status: query.status,
            overdue: query.overdue === true,
            dueBefore: query.due_before ? Date.parse(query.due_before) : undefined,
          },
          query.limit ?? 50,
          after ? { dueAt: after.at, id: after.id } : null,
        )
        const last = page.rows.at(-1)
        const now = clock.now()
        return {
          requests: page.rows.map((r) => projectRequestForV1(r, now)),
          next_token: page.hasMore && last ? encodePageToken({ at: last.dueAt, id: last.id }) : null,
        }
      },
      {
        query: t.Object({
          status: t.Optional(oneOf(REQUEST_STATUSES)),
          overdue: t.Optional(t.Boolean()),
          due_before: t.Optional(DateTime),
          limit: t.Optional(t.Integer({ minimum: 1, maximum: 200 })),
          next_token: t.Optional(t.String({ maxLength: 512 })),
        }),
        ...v1Doc({
          operationId: 'adminListRequests',
          summary: 'Requests by deadline, soonest first; filter by status, overdue, due_before',
          tag: 'admin',
          ok: { 200: t.Object({ requests: t.Array(V1DataRequest), next_token: nullable(t.String()) }) },
          errors: [400, 403],
        }),
      },
    )
    .get(
      '/v1/admin/requests/:request_id',
      async ({ params }) => {
        const row = await getRequest(deps, params.request_id)
        if (!row) throw new AppError('NOT_FOUND', 'No such request.')
        return projectRequestForV1(row, clock.now())
      },
      {
        params: RequestParams,
        ...v1Doc({
          operationId: 'adminGetRequest',
          summary: 'One request with its clock',
          tag: 'admin',
          ok: { 200: V1DataRequest },
          errors: [403, 404],
        }),
      },
    )
  for (const transition of TRANSITIONS)
    routes = routes.post(
      `/v1/admin/requests/:request_id/${transition.path}`,
      async ({ params, body }) => {
        const input = body as Record<string, unknown>
        const row = await transitionRequest(deps, params.request_id, transition.path, {
          verified: input.verified as boolean | undefined,
          months: input.months as number | undefined,
          reason: (input.reason as string | null | undefined) ?? null,
          exportId: (input.export_id as string | null | undefined) ?? null,
          erasureId: (input.erasure_id as string | null | undefined) ?? null,
        })
        return projectRequestForV1(row, clock.now())
      },
      {
        params: RequestParams,
        body: transition.body,
        ...v1Doc({
          operationId: `adminRequest${transition.path.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase())}`,
          summary: transition.summary,
          tag: 'admin',
          ok: { 200: V1DataRequest },
          errors: [403, 404, 409],
          body: true,
          idempotent: true,
        }),
      },
    ) as unknown as typeof routes
  return routes
}
