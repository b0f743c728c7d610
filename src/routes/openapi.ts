import { type DocumentDecoration, type TSchema, t } from 'elysia'
import { API_ERROR_CODES, V1_ERROR_CODES } from '../errors'
import { Int, JsonObject, oneOf } from '../projections/schema-helpers'

export const ApiErrorBody = t.Object(
  {
    error: t.Object({
      code: oneOf(API_ERROR_CODES),
      message: t.String(),
      docUrl: t.String({ format: 'uri', examples: ['http://localhost:3000/docs/errors#unauthorized'] }),
      details: t.Optional(
        t.Array(t.Object({ path: t.Array(t.Union([t.String(), Int()])), message: t.String() }), {
          description: 'Validation issues, one per invalid field',
        }),
      ),
    }),
  },
  {
    title: 'ApiError',
    examples: [
      {
        error: {
          code: 'UNAUTHORIZED',
          message: 'Invalid or expired token.',
          docUrl: 'http://localhost:3000/docs/errors#unauthorized',
        },
      },
    ],
  },
)

export const V1ErrorBody = t.Object(
  {
    error: t.String(),
    code: oneOf(V1_ERROR_CODES),
    error_detail: t.Optional(JsonObject),
    request_id: t.String(),
  },
  {
    title: 'V1Error',
    examples: [
      { error: 'Invalid or expired token.', code: 'unauthorized', request_id: 'req_0a1b2c3d4e5f6g7h8i9j' },
    ],
  },
)

const DESCRIPTIONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No content',
  400: 'Invalid request or fields, or an invalid Idempotency-Key',
  401: 'Missing, invalid or expired credentials',
  402: 'A subscription is required',
  403: 'Not allowed',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict (or the first request with this Idempotency-Key is still in progress)',
  410: 'The link has expired',
  413: 'Body too large',
  415: 'Unsupported content type',
  422: 'Idempotency-Key reused with a different request',
  429: 'Too many requests (rate limit or quota)',
  500: 'Internal error',
  502: 'Payment provider unreachable',
  503: 'Feature unavailable, or the database unreachable for now (see Retry-After)',
  507: 'The server’s disk is full; nothing was changed (see Retry-After)',
}

export interface RouteDoc<Ok> {
  operationId: string
  summary: string
  description?: string
  tag: string
  /** Success statuses and their schemas. */
  ok: Ok
  /** Error statuses beyond the defaults this kind of route gets. */
  errors?: number[]
  /** Takes a JSON body (400/413/415 become possible). */
  body?: boolean
  /** No credential needed. */
  public?: boolean
  /** Takes an Idempotency-Key (POST/PUT/PATCH/DELETE of the API surfaces). */
  idempotent?: boolean
}

type Dialect = 'api' | 'v1'
/**
 * The error statuses as literal keys: with a plain `number` key every status, 200 included, would
 * also map to the error body, and typed clients (Eden Treaty) would see errors in `data`.
 */
type ErrorStatus =
  | 400
  | 401
  | 402
  | 403
  | 404
  | 405
  | 409
  | 410
  | 413
  | 415
  | 422
  | 429
  | 500
  | 502
  | 503
  | 507
type ErrorSchemas = Record<ErrorStatus, typeof ApiErrorBody | typeof V1ErrorBody>

function errorStatuses(doc: RouteDoc<unknown>): number[] {
  const statuses = new Set<number>(doc.errors ?? [])
  // 403: every credentialed route refuses an account scheduled for deletion (account_deleted).
  if (!doc.public) statuses.add(401).add(403).add(429)
  // 503: the database unreachable; 507: a write on a full disk (docs/operations.md, outages).
  statuses.add(500).add(503)
  if (doc.body) statuses.add(400).add(413).add(415).add(507)
  // Mutating routes: a body may be sent even where none is expected, and the body guard checks it.
  if (doc.idempotent) statuses.add(400).add(409).add(413).add(415).add(422).add(507)
  return [...statuses].sort((a, b) => a - b)
}

function baseDetail(dialect: Dialect, doc: RouteDoc<unknown>): DocumentDecoration {
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: [`${dialect === 'api' ? '/api' : '/v1'} ${doc.tag}`],
    security: doc.public ? [] : [{ bearerAuth: [] }],
  }
}

/**
 * Route options `{ detail, response }` for one operation: operationId, summary, tag, security,
 * and a schema for every status the route can answer — including the ones every route of its
 * kind can give (401, 429, 500; 400/413/415 with a body; 400/409/422 with idempotency).
 */
export function describe<const Ok extends Record<number, TSchema>>(dialect: Dialect, doc: RouteDoc<Ok>) {
  const errorSchema = dialect === 'api' ? ApiErrorBody : V1ErrorBody
  const response: Record<number, TSchema> = {}
  for (const [status, schema] of Object.entries(doc.ok))
    response[Number(status)] = withDescription(schema, DESCRIPTIONS[Number(status)] ?? 'OK')
  for (const status of errorStatuses(doc))
    response[status] = withDescription(errorSchema, DESCRIPTIONS[status] ?? 'Error')
  return { detail: baseDetail(dialect, doc), response: response as Ok & ErrorSchemas }
}

/**
 * The same for routes whose success has an empty body (204). Elysia ignores detail.responses
 * once `response` is set, and an empty schema for 204 is not valid OpenAPI, so such routes
 * describe every response in detail.responses instead.
 */
export function describeEmpty(dialect: Dialect, doc: RouteDoc<Record<number, TSchema | null>>) {
  const errorSchema = dialect === 'api' ? ApiErrorBody : V1ErrorBody
  const responses: Record<string, { description: string; content?: Record<string, { schema: TSchema }> }> = {}
  for (const [status, schema] of Object.entries(doc.ok))
    responses[status] = schema
      ? { description: DESCRIPTIONS[Number(status)] ?? 'OK', content: { 'application/json': { schema } } }
      : { description: DESCRIPTIONS[Number(status)] ?? 'No content' }
  for (const status of errorStatuses(doc))
    responses[status] = {
      description: DESCRIPTIONS[status] ?? 'Error',
      content: { 'application/json': { schema: errorSchema } },
    }
  return { detail: { ...baseDetail(dialect, doc), responses } as DocumentDecoration }
}

/** A shallow copy carrying an OpenAPI response description (symbols included: TypeBox's Kind). */
function withDescription<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description }
}

export const apiDoc = <const Ok extends Record<number, TSchema>>(doc: RouteDoc<Ok>) => describe('api', doc)
export const v1Doc = <const Ok extends Record<number, TSchema>>(doc: RouteDoc<Ok>) => describe('v1', doc)
export const apiDocEmpty = (doc: RouteDoc<Record<number, TSchema | null>>) => describeEmpty('api', doc)
export const v1DocEmpty = (doc: RouteDoc<Record<number, TSchema | null>>) => describeEmpty('v1', doc)

/**
 * `?dryRun=true` on the delete endpoints. IMPORTANT: not `t.Optional(oneOf(['true',
 * 'false']))` — Elysia fills an absent optional enum query parameter with its first member, which
 * turned every real delete into a dry run.
 */
export const DryRunQuery = t.Object({
  dryRun: t.Optional(t.Boolean({ description: 'Answer what would be erased; change nothing.' })),
})
