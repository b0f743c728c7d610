/**
 * The one internal error type and its code catalogue. Services throw `AppError` with an internal
 * code; each dialect maps it to its own envelope (plugins/error-envelope.ts). The /api dialect's
 * clients decode its code enum strictly, so /api codes are only ever those of docs/spec/traffic.md §4.
 */

export type Dialect = 'api' | 'v1'

/** The /api dialect's closed code enum (seed pages). */
export const API_ERROR_CODES = [
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'VALIDATION_FAILED',
  'RATE_LIMITED',
  'SLUG_TAKEN',
  'SLUG_RESERVED',
  'DOMAIN_IN_USE',
  'APP_LIMIT_REACHED',
  'SUBSCRIPTION_REQUIRED',
  'SUBSCRIPTION_EXISTS',
  'NO_PAYMENT_METHOD',
  'NO_ACTIVE_SUBSCRIPTION',
  'NOT_CANCELING',
  'ALREADY_CANCELING',
  'SUBSCRIPTION_CANCELING',
  'SAME_PLAN',
  'CARD_ERROR',
  'PAYMENT_ERROR',
  'NO_STRIPE_CUSTOMER',
  'CERT_CREATION_FAILED',
  'DEPLOY_FAILED',
  'API_KEY_LIMIT_REACHED',
  'LEGAL_HOLD',
  'INVALID_IDEMPOTENCY_KEY',
  'IDEMPOTENCY_KEY_REUSE',
  'INTERNAL_ERROR',
] as const
export type ApiErrorCode = (typeof API_ERROR_CODES)[number]

export const V1_ERROR_CODES = [
  'unauthorized',
  'forbidden',
  'operator_required',
  'email_not_verified',
  'account_deleted',
  'not_found',
  'account_not_found',
  'sandbox_not_found',
  'invalid_request',
  'invalid_fields',
  'conflict',
  'account_not_soft_deleted',
  'account_hard_delete_active_resources',
  'legal_hold',
  'link_expired',
  'quota_exceeded',
  'rate_limit_exceeded',
  'feature_unavailable',
  'service_unavailable',
  'storage_full',
  'internal_error',
] as const
export type V1ErrorCode = (typeof V1_ERROR_CODES)[number]

interface Mapping {
  api: readonly [ApiErrorCode, number]
  v1: readonly [V1ErrorCode, number]
  /** One line for the /docs/errors page. */
  meaning: string
}

const m = (
  api: ApiErrorCode,
  apiStatus: number,
  v1: V1ErrorCode,
  v1Status: number,
  meaning: string,
): Mapping => ({
  api: [api, apiStatus],
  v1: [v1, v1Status],
  meaning,
})

export const ERROR_CATALOGUE = {
  UNAUTHORIZED: m(
    'UNAUTHORIZED',
    401,
    'unauthorized',
    401,
    'Missing, malformed, invalid, revoked or expired credentials, or a credential this route does not take.',
  ),
  FORBIDDEN: m('FORBIDDEN', 403, 'forbidden', 403, 'The credential is valid but may not do this.'),
  OPERATOR_REQUIRED: m(
    'FORBIDDEN',
    403,
    'operator_required',
    403,
    'Operator routes need the session of an operator.',
  ),
  EMAIL_NOT_VERIFIED: m(
    'FORBIDDEN',
    403,
    'email_not_verified',
    403,
    'This action needs a verified email address.',
  ),
  ACCOUNT_DELETED: m(
    'FORBIDDEN',
    403,
    'account_deleted',
    403,
    'The account is scheduled for deletion; only reading it, exporting it and restoring it are allowed.',
  ),
  NOT_FOUND: m('NOT_FOUND', 404, 'not_found', 404, 'No such resource (or it belongs to someone else).'),
  METHOD_NOT_ALLOWED: m(
    'NOT_FOUND',
    405,
    'not_found',
    405,
    'The path exists but not with this method; see the Allow header.',
  ),
  ACCOUNT_NOT_FOUND: m('NOT_FOUND', 404, 'account_not_found', 404, 'No such account.'),
  SANDBOX_NOT_FOUND: m('NOT_FOUND', 404, 'sandbox_not_found', 404, 'No such sandbox in your team.'),
  VALIDATION_FAILED: m(
    'VALIDATION_FAILED',
    400,
    'invalid_fields',
    400,
    'One or more fields are invalid; `details` names them. Strings may not contain control characters (U+0000–U+001F except tab and line breaks, U+007F); names, slugs, emails and domains are single-line.',
  ),
  INVALID_REQUEST: m(
    'VALIDATION_FAILED',
    400,
    'invalid_request',
    400,
    'The request is malformed (body, query or headers): not JSON, not valid UTF-8, or arrays and objects nested deeper than 32 levels.',
  ),
  UNSUPPORTED_MEDIA_TYPE: m(
    'VALIDATION_FAILED',
    415,
    'invalid_request',
    415,
    'The body has a content type this route does not accept.',
  ),
  PAYLOAD_TOO_LARGE: m(
    'VALIDATION_FAILED',
    413,
    'invalid_request',
    413,
    'The body is larger than this route accepts (MAX_BODY_BYTES, 1 MiB by default; icons 4 MB), counted on the bytes received whether or not Content-Length was sent.',
  ),
  RATE_LIMITED: m(
    'RATE_LIMITED',
    429,
    'rate_limit_exceeded',
    429,
    'Too many requests; wait for Retry-After seconds.',
  ),
  QUOTA_EXCEEDED: m(
    'RATE_LIMITED',
    429,
    'quota_exceeded',
    429,
    "The team's quota tier does not allow this now.",
  ),
  CONFLICT: m('VALIDATION_FAILED', 409, 'conflict', 409, 'The request conflicts with the current state.'),
  SLUG_TAKEN: m('SLUG_TAKEN', 409, 'conflict', 409, 'Another app already uses this slug.'),
  SLUG_RESERVED: m('SLUG_RESERVED', 409, 'conflict', 409, 'This slug is reserved.'),
  DOMAIN_IN_USE: m('DOMAIN_IN_USE', 409, 'conflict', 409, 'Another app already uses this domain.'),
  APP_LIMIT_REACHED: m('APP_LIMIT_REACHED', 400, 'conflict', 409, 'An account may have at most 10 apps.'),
  API_KEY_LIMIT_REACHED: m(
    'API_KEY_LIMIT_REACHED',
    400,
    'conflict',
    409,
    'At most 10 active API keys; revoke one first.',
  ),
  SUBSCRIPTION_REQUIRED: m(
    'SUBSCRIPTION_REQUIRED',
    402,
    'invalid_request',
    402,
    'Publishing a new app needs a usable subscription.',
  ),
  SUBSCRIPTION_EXISTS: m(
    'SUBSCRIPTION_EXISTS',
    400,
    'invalid_request',
    400,
    'The account already has a subscription.',
  ),
  NO_PAYMENT_METHOD: m('NO_PAYMENT_METHOD', 400, 'invalid_request', 400, 'No payment method is on file.'),
  NO_ACTIVE_SUBSCRIPTION: m(
    'NO_ACTIVE_SUBSCRIPTION',
    400,
    'invalid_request',
    400,
    'The account has no active subscription.',
  ),
  NOT_CANCELING: m('NOT_CANCELING', 400, 'invalid_request', 400, 'The subscription is not set to cancel.'),
  ALREADY_CANCELING: m(
    'ALREADY_CANCELING',
    400,
    'invalid_request',
    400,
    'The subscription is already set to cancel.',
  ),
  SUBSCRIPTION_CANCELING: m(
    'SUBSCRIPTION_CANCELING',
    400,
    'invalid_request',
    400,
    'Reactivate the subscription before changing it.',
  ),
  SAME_PLAN: m('SAME_PLAN', 400, 'invalid_request', 400, 'The subscription is already on this plan.'),
  CARD_ERROR: m('CARD_ERROR', 400, 'invalid_request', 400, 'The card was declined; the message says why.'),
  PAYMENT_ERROR: m('PAYMENT_ERROR', 400, 'invalid_request', 400, 'The payment provider refused the request.'),
  PAYMENT_PROVIDER_UNAVAILABLE: m(
    'PAYMENT_ERROR',
    502,
    'feature_unavailable',
    503,
    'The payment provider could not be reached; nothing was changed, retry later.',
  ),
  NO_STRIPE_CUSTOMER: m(
    'NO_STRIPE_CUSTOMER',
    404,
    'not_found',
    404,
    'The account has no billing customer yet.',
  ),
  FEATURE_UNAVAILABLE: m(
    'FORBIDDEN',
    403,
    'feature_unavailable',
    503,
    'This feature is not enabled on this server.',
  ),
  CERT_CREATION_FAILED: m(
    'CERT_CREATION_FAILED',
    500,
    'internal_error',
    500,
    'The certificate authority refused or failed the order.',
  ),
  DEPLOY_FAILED: m(
    'DEPLOY_FAILED',
    500,
    'internal_error',
    500,
    'Rendering failed; the previous version stays live.',
  ),
  INVALID_IDEMPOTENCY_KEY: m(
    'INVALID_IDEMPOTENCY_KEY',
    400,
    'invalid_request',
    400,
    'Idempotency-Key must be 1–255 printable ASCII characters, sent once.',
  ),
  IDEMPOTENCY_KEY_REUSE: m(
    'IDEMPOTENCY_KEY_REUSE',
    422,
    'conflict',
    422,
    'This Idempotency-Key was used for a different request.',
  ),
  IDEMPOTENCY_IN_PROGRESS: m(
    'IDEMPOTENCY_KEY_REUSE',
    409,
    'conflict',
    409,
    'The first request with this Idempotency-Key is still in progress; retry after Retry-After.',
  ),
  ACCOUNT_NOT_SOFT_DELETED: m(
    'VALIDATION_FAILED',
    409,
    'account_not_soft_deleted',
    409,
    'Hard delete needs the account to be soft-deleted first.',
  ),
  ACCOUNT_HARD_DELETE_ACTIVE_RESOURCES: m(
    'VALIDATION_FAILED',
    409,
    'account_hard_delete_active_resources',
    409,
    'The account still has running, creating or paused sandboxes.',
  ),
  // A documented addition to /api's enum (the issue asks for the same code in both dialects): it
  // only ever answers an erasure of a held account, which no seed-era client could meet.
  LEGAL_HOLD: m(
    'LEGAL_HOLD',
    409,
    'legal_hold',
    409,
    'The account is under a legal hold: it cannot be erased until the hold is released. The request is recorded and completes when the hold is released.',
  ),
  LINK_EXPIRED: m('NOT_FOUND', 410, 'link_expired', 410, 'This link has expired.'),
  ERASURE_IN_PROGRESS: m(
    'VALIDATION_FAILED',
    409,
    'conflict',
    409,
    'The account’s erasure is already under way; a hold can no longer stop it.',
  ),
  // /api's code enum is closed (its clients decode it strictly): outages keep INTERNAL_ERROR there
  // and say what happened with the status (503, 507), Retry-After and the message.
  SERVICE_UNAVAILABLE: m(
    'INTERNAL_ERROR',
    503,
    'service_unavailable',
    503,
    'The database is unreachable for now; nothing was changed. Retry after Retry-After seconds.',
  ),
  STORAGE_FULL: m(
    'INTERNAL_ERROR',
    507,
    'storage_full',
    507,
    'The server’s disk (database or file storage) is full; nothing was changed. Retry once the operator has freed space.',
  ),
  INTERNAL_ERROR: m(
    'INTERNAL_ERROR',
    500,
    'internal_error',
    500,
    'Something failed on our side; the request id identifies it in the logs.',
  ),
} as const satisfies Record<string, Mapping>

export type ErrorCode = keyof typeof ERROR_CATALOGUE

/** One validation issue; `path` in Zod's shape (segments), as the original /api clients read it. */
export interface ValidationIssue {
  path: (string | number)[]
  message: string
}

export interface AppErrorOptions {
  /** Validation issues (`details` in /api, `error_detail.fields` in /v1). */
  issues?: ValidationIssue[]
  /** Structured detail for the /v1 `error_detail` (e.g. quota `{limit, used, usage_date}`). */
  detail?: Record<string, unknown>
  /** Extra response headers (`Retry-After`, `WWW-Authenticate`, `Allow`). */
  headers?: Record<string, string>
  cause?: unknown
}

export class AppError extends Error {
  override name = 'AppError'
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: AppErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
  }

  statusFor(dialect: Dialect): number {
    return ERROR_CATALOGUE[this.code][dialect][1]
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError

/** Shorthand for a single-field validation failure. */
export function fieldError(path: (string | number)[] | string, message: string): AppError {
  const segments = typeof path === 'string' ? path.split('.') : path
  return new AppError('VALIDATION_FAILED', `Validation failed: ${segments.join('.')}: ${message}`, {
    issues: [{ path: segments, message }],
  })
}

/** Lower-kebab anchor of an /api code on the /docs/errors page (`NOT_FOUND` → `not-found`). */
export const docAnchor = (code: string) => code.toLowerCase().replace(/_/g, '-')
