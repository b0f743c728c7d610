import { Elysia } from 'elysia'
import { unavailability } from '../../db/errors'
import { AppError, type Dialect, docAnchor, ERROR_CATALOGUE, type ValidationIssue } from '../errors'
import { errorFields, type Logger } from '../lib/logger'
import type { Outages } from '../lib/outages'
import { fieldLabel, issueMessage, type ValueErrorLike } from '../lib/validation-message'
import { type RequestState, stateOf } from './request-state'

export interface ErrorEnvelopeOptions {
  /** Base of every `docUrl` (`<PUBLIC_URL>/docs/errors#<code>`). */
  publicUrl: string
  logger: Logger
  /**
   * Methods a path answers to, for telling 405 from 404. Filled in by createApp once every route
   * is mounted. @default () => []
   */
  allowedMethods?: (path: string) => string[]
  /** Where an unreachable database or a full disk is counted: one log line per episode. */
  outages?: Outages
  /**
   * Paths answered with a page rather than JSON (the console): `render` builds the error page
   * for the error and its /v1 status. @default none
   */
  pages?: { prefix: string; render(error: AppError, status: number, requestId: string): Response }
}

/** Seconds a client is told to wait when the database is unreachable or a disk is full. */
const RETRY_AFTER_UNAVAILABLE = '5'
const RETRY_AFTER_FULL = '60'

/** The body of an error in the request's dialect (docs/spec/traffic.md §4). */
export function errorBody(error: AppError, state: RequestState, publicUrl: string): string {
  const [code] = ERROR_CATALOGUE[error.code][state.dialect]
  if (state.dialect === 'v1') {
    const issues = error.options.issues
    const detail = issues
      ? {
          ...error.options.detail,
          fields: issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
        }
      : error.options.detail
    return JSON.stringify({
      error: error.message,
      code,
      ...(detail ? { error_detail: detail } : {}),
      request_id: state.requestId,
    })
  }
  return JSON.stringify({
    error: {
      code,
      message: error.message,
      docUrl: `${publicUrl}/docs/errors#${docAnchor(code)}`,
      ...(error.options.issues ? { details: error.options.issues } : {}),
    },
  })
}

export function errorResponse(error: AppError, state: RequestState, publicUrl: string): Response {
  const status = error.statusFor(state.dialect)
  state.status = status
  return new Response(errorBody(error, state, publicUrl), {
    status,
    headers: { 'content-type': 'application/json', ...error.options.headers },
  })
}

/**
 * Maps every failure — ours, Elysia's (404, parse, validation) and unexpected exceptions — to the
 * dialect's envelope. Unexpected exceptions become 500 INTERNAL_ERROR with the request id and are
 * logged with their stack; the body never carries a stack or SQL.
 */
export const errorEnvelopePlugin = (options: ErrorEnvelopeOptions) =>
  new Elysia({ name: 'custodian/error-envelope', seed: options.publicUrl }).onError(
    { as: 'global' },
    async ({ code, error, request, set }) => {
      const state = stateOf(request)
      try {
        const appError = toAppError(code, error, request, state, options)
        // A handler may have set download headers before failing; an error is never a download.
        delete set.headers['content-disposition']
        const response = pageOwned(state.path, options)
          ? errorPage(appError, state, options)
          : errorResponse(appError, state, options.publicUrl)
        // A request holding an idempotency claim stores its 4xx (or releases the claim on 5xx).
        if (state.settleResponse && !state.responseSettled)
          try {
            await state.settleResponse(response)
          } catch (settleError) {
            // The database went away under the request: its claim is released as stale later
            // (docs/spec/traffic.md §3); the client still gets the 503, not a 500.
            if (!unavailability(settleError)) throw settleError
          }
        return response
      } catch {
        // IMPORTANT: mapping the error failed too (a stack overflow does that): still answer in
        // the envelope rather than let Bun's own error page out.
        const internal = new AppError('INTERNAL_ERROR', `Internal error (request ${state.requestId}).`)
        return errorResponse(internal, state, options.publicUrl)
      }
    },
  )

const pageOwned = (path: string, options: ErrorEnvelopeOptions) =>
  options.pages !== undefined &&
  (path === options.pages.prefix || path.startsWith(`${options.pages.prefix}/`))

function errorPage(error: AppError, state: RequestState, options: ErrorEnvelopeOptions): Response {
  const status = error.statusFor('v1')
  state.status = status
  const response = (options.pages as NonNullable<ErrorEnvelopeOptions['pages']>).render(
    error,
    status,
    state.requestId,
  )
  for (const [name, value] of Object.entries(error.options.headers ?? {})) response.headers.set(name, value)
  return response
}

/**
 * The server's answer of last resort, for an exception that escaped Elysia altogether: JSON, no
 * stack, no source. Passed to Bun.serve as `error` together with `development: false`, so neither
 * Bun's development error page nor its bare "Something went wrong!" can ever be sent.
 */
export function lastResortResponse(): Response {
  return new Response(JSON.stringify({ error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } }), {
    status: 500,
    headers: { 'content-type': 'application/json' },
  })
}

function toAppError(
  code: string | number | undefined,
  error: unknown,
  request: Request,
  state: RequestState,
  options: ErrorEnvelopeOptions,
): AppError {
  if (error instanceof AppError) return error
  switch (code) {
    case 'NOT_FOUND': {
      const allowed = options.allowedMethods?.(state.path) ?? []
      if (allowed.length > 0 && !allowed.includes(request.method))
        return new AppError(
          'METHOD_NOT_ALLOWED',
          `Method ${request.method} is not allowed on ${state.path}.`,
          {
            headers: { allow: allowed.join(', ') },
          },
        )
      return new AppError('NOT_FOUND', `No route for ${request.method} ${state.path}.`)
    }
    case 'PARSE':
      return isJson(request)
        ? new AppError('INVALID_REQUEST', 'The request body is not valid JSON.')
        : new AppError('INVALID_REQUEST', 'The request body could not be parsed.')
    case 'VALIDATION':
      return fromValidation(error as ValidationLike, request, state, options)
    case 'INVALID_FILE_TYPE':
      return new AppError('VALIDATION_FAILED', 'The uploaded file has a type this route does not accept.')
    default: {
      const down = unavailability(error)
      if (down) {
        options.outages?.failed(down.dependency, down.reason)
        if (down.full)
          return new AppError(
            'STORAGE_FULL',
            'The server’s disk is full; nothing was changed. Retry later.',
            {
              headers: { 'retry-after': RETRY_AFTER_FULL },
            },
          )
        return new AppError(
          'SERVICE_UNAVAILABLE',
          `The ${down.dependency === 'database' ? 'database is unreachable' : 'file storage cannot be written'}; nothing was changed. Retry in ${RETRY_AFTER_UNAVAILABLE} s.`,
          { headers: { 'retry-after': RETRY_AFTER_UNAVAILABLE } },
        )
      }
      options.logger.error('unhandled error', {
        requestId: state.requestId,
        path: state.path,
        ...errorFields(error),
      })
      return new AppError('INTERNAL_ERROR', `Internal error (request ${state.requestId}).`)
    }
  }
}

interface ValidationLike {
  type?: string
  all?: ValueErrorLike[]
  value?: unknown
}

/** The one query parameter whose value is `value`, if exactly one is. */
function queryParameterHolding(request: Request, value: unknown): string | null {
  const names = [...new URL(request.url).searchParams].filter(([, v]) => v === String(value)).map(([k]) => k)
  return names.length === 1 ? (names[0] as string) : null
}

function fromValidation(
  error: ValidationLike,
  request: Request,
  state: RequestState,
  options: ErrorEnvelopeOptions,
) {
  if (error.type === 'response') {
    // Our own answer did not match its documented schema: a bug, never the client's fault.
    options.logger.error('response failed its schema', {
      requestId: state.requestId,
      path: state.path,
      issues: (error.all ?? []).slice(0, 5).map((i) => `${i.path}: ${i.message}`),
    })
    return new AppError('INTERNAL_ERROR', `Internal error (request ${state.requestId}).`)
  }
  if (error.type === 'body' && hasBody(request) && !isJson(request))
    return new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'The request body must be JSON (Content-Type: application/json).',
    )
  // Elysia checks query parameters one by one and reports those as type 'property', without the
  // parameter's name: recover it from the query string by the refused value.
  const queryParameter = error.type === 'property' ? queryParameterHolding(request, error.value) : null
  const issues: ValidationIssue[] = (error.all ?? []).map((i) => ({
    path: queryParameter && !i.path ? [queryParameter] : pointerToPath(i.path ?? ''),
    message: issueMessage(i),
  }))
  const unique = dedupeIssues(issues)
  const where =
    error.type === 'query' || error.type === 'property' ? 'query' : error.type === 'params' ? 'path' : 'body'
  if (unique.length === 0) unique.push({ path: [], message: `Invalid ${where}` })
  // One problem: "Validation failed: field: message"; several: every one of them, in order.
  const first = unique[0]!
  const label = (i: ValidationIssue) => (i.path.length ? fieldLabel(i.path) : where)
  const message =
    unique.length === 1
      ? `Validation failed: ${label(first)}: ${first.message}`
      : `Validation failed: ${unique.length} problems: ${unique.map((i) => `${label(i)} ${i.message}`).join('; ')}`
  return new AppError('VALIDATION_FAILED', message, { issues: unique })
}

/** `/faqItems/0/question` → `['faqItems', 0, 'question']` */
function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return []
  return pointer
    .replace(/^\//, '')
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
}

function dedupeIssues(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>()
  return issues.filter((i) => {
    const key = i.path.join('\u0000')
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

const isJson = (request: Request) =>
  /^application\/([\w.+-]+\+)?json\b/i.test(request.headers.get('content-type') ?? '')
const hasBody = (request: Request) =>
  request.headers.has('content-type') || Number(request.headers.get('content-length') ?? 0) > 0

export type { Dialect }
