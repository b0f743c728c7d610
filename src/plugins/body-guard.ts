import { AppError } from '../errors'
import { parseJsonBody } from '../lib/json-body'
import type { GateStep } from './request-gate'
import { isApiPath, type RequestState, stateOf } from './request-state'

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
 * Before anything reads a body on /api and /v1: refuse one that is not JSON on a JSON route (415)
 * and one larger than the route allows (413) — by its Content-Length when it declares one, and
 * by the bytes actually read either way (a chunked body has no length to trust). The bytes are
 * kept on the request state: JSON routes get them parsed by `parseJsonBody` (strict UTF-8,
 * nesting and control-character limits), raw routes read them with `bodyBytesOf`.
 */
export const bodyGuardStep =
  (options: BodyGuardOptions): GateStep =>
  ({ request }) => {
    // A declared length says there is a body without touching `request.body`, whose getter builds
    // a JS ReadableStream (the costliest part of reading a small body from the network).
    if (request.headers.get('content-length') === null && request.body === null) return undefined
    const state = stateOf(request)
    if (isConsolePath(state.path)) return guardForm(request)
    if (!isApiPath(state.path)) return undefined
    return guardBody(request, state, options)
  }

const isConsolePath = (path: string) => path === '/console' || path.startsWith('/console/')
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i
/** The console's forms are a few fields: a token, a reason of 1,000 characters at most. */
const CONSOLE_FORM_BYTES = 16 * 1024

/** The console's forms: urlencoded, small, valid UTF-8 — anything else is refused before parsing. */
async function guardForm(request: Request) {
  const length = request.headers.get('content-length')
  if (length !== null && Number(length) > CONSOLE_FORM_BYTES) throw tooLarge(CONSOLE_FORM_BYTES)
  if (length !== '0' && !FORM_TYPE.test(request.headers.get('content-type') ?? ''))
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Console forms are sent as application/x-www-form-urlencoded.',
    )
  const bytes = await readBody(request, length, CONSOLE_FORM_BYTES)
  if (bytes.byteLength > CONSOLE_FORM_BYTES) throw tooLarge(CONSOLE_FORM_BYTES)
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new AppError('INVALID_REQUEST', 'The form is not valid UTF-8.')
  }
  serveBodyFrom(request, bytes, undefined)
  return undefined
}

async function guardBody(request: Request, state: RequestState, options: BodyGuardOptions) {
  const length = request.headers.get('content-length')
  const rule = bodyRuleFor(state.path, options)
  const limit = rule?.maxBytes ?? options.maxBytes
  if (length !== null && Number(length) > limit) throw tooLarge(limit)
  if (length !== '0' && !rule?.raw && !JSON_TYPE.test(request.headers.get('content-type') ?? ''))
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'The request body must be JSON (Content-Type: application/json).',
    )
  // With a declared length (checked above) Bun reads exactly that many bytes natively; a chunked
  // body has no length to trust and is read through its stream, counting.
  const bytes = await readBody(request, length, limit)
  if (bytes.byteLength > limit) throw tooLarge(limit)
  state.body = bytes
  // JSON is checked here, once, before any schema sees it (strict UTF-8, nesting, control
  // characters); raw routes take the bytes as they are.
  const parsed = rule?.raw ? undefined : parseJsonBody(bytes)
  state.json = parsed
  serveBodyFrom(request, bytes, parsed)
  return undefined
}

/**
 * The stream is read; Elysia's own parsers (and anything else) read the body through these
 * instead. (A parse hook would do the same, but it changes the request bodies the OpenAPI
 * document describes to "*\/*".) An empty body fails `json()` as the native one does, so an
 * optional body stays undefined and a required one is refused.
 */
function serveBodyFrom(request: Request, bytes: Uint8Array, parsed: unknown) {
  const copy = () => bytes.slice()
  const readers: Record<string, () => Promise<unknown>> = {
    json: async () => {
      if (bytes.byteLength === 0) throw new SyntaxError('Unexpected end of JSON input')
      return parsed === undefined ? JSON.parse(new TextDecoder().decode(bytes)) : parsed
    },
    text: async () => new TextDecoder().decode(bytes),
    arrayBuffer: async () => copy().buffer,
    bytes: async () => copy(),
    blob: async () => new Blob([copy()], { type: request.headers.get('content-type') ?? '' }),
    formData: () =>
      new Response(copy(), {
        headers: { 'content-type': request.headers.get('content-type') ?? '' },
      }).formData(),
  }
  for (const [name, read] of Object.entries(readers)) Object.defineProperty(request, name, { value: read })
}

/**
 * The body's bytes. A client that hangs up before sending what it declared is refused as a bad
 * request (logged as the client's error), not left to surface as an unhandled 500.
 */
async function readBody(request: Request, length: string | null, limit: number): Promise<Uint8Array> {
  try {
    return length !== null ? await request.bytes() : await readWithin(request, limit)
  } catch (error) {
    if (error instanceof AppError) throw error
    throw new AppError('INVALID_REQUEST', 'The request body ended before it was complete.')
  }
}

const tooLarge = (limit: number) =>
  new AppError('PAYLOAD_TOO_LARGE', `The body is larger than ${limit} bytes.`)

/** Reads the whole body, stopping (and answering 413) as soon as it passes `limit` bytes. */
export async function readWithin(request: Request, limit: number): Promise<Uint8Array> {
  const reader = (request.body as ReadableStream<Uint8Array>).getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > limit) {
      await reader.cancel().catch(() => undefined)
      throw tooLarge(limit)
    }
    chunks.push(value)
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array
  const bytes = new Uint8Array(total)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.byteLength
  }
  return bytes
}

/** The body bytes of an /api or /v1 request, as the body guard read them. */
export function bodyBytesOf(request: Request): Uint8Array {
  return stateOf(request).body ?? new Uint8Array(0)
}
