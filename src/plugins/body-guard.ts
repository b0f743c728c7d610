import { Elysia } from 'elysia'
import { AppError } from '../errors'
import { isApiPath, stateOf } from './request-state'

/** A route that takes something other than JSON, or a bigger body than the default. */
export interface BodyRule {
  pattern: RegExp
  /** Bytes this route accepts. @default the global limit */
  maxBytes?: number
  /** Accepts any content type (uploads, the Stripe webhook). @default false */
  raw?: boolean
}

export interface BodyGuardOptions {
  /** `MAX_BODY_BYTES`. @default 1048576 */
  maxBytes: number
  /** Routes that differ from "JSON, at most maxBytes". @default [] */
  rules?: BodyRule[]
}

export function bodyRuleFor(path: string, options: BodyGuardOptions): BodyRule | undefined {
  return options.rules?.find((rule) => rule.pattern.test(path))
}

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i

/**
 * Before anything reads a body: refuse one larger than the route allows (413), and one that is
 * not JSON on a JSON route (415). Both answers are in the dialect's envelope. Bodies without
 * Content-Length (chunked) are also bounded by the server's maxRequestBodySize.
 */
export const bodyGuardPlugin = (options: BodyGuardOptions) =>
  new Elysia({ name: 'custodian/body-guard', seed: options.maxBytes }).onRequest(({ request }) => {
    if (request.body === null) return
    const length = request.headers.get('content-length')
    if (length === '0') return
    const { path } = stateOf(request)
    const rule = bodyRuleFor(path, options)
    const limit = rule?.maxBytes ?? options.maxBytes
    if (length !== null && Number(length) > limit)
      throw new AppError('PAYLOAD_TOO_LARGE', `The body is larger than ${limit} bytes.`)
    if (!rule?.raw && isApiPath(path) && !JSON_TYPE.test(request.headers.get('content-type') ?? ''))
      throw new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        'The request body must be JSON (Content-Type: application/json).',
      )
  })
