import type { Tx } from '../../db/store'
import type { PolicyName } from '../config'
import type { Dialect } from '../errors'
import type { Credential, Principal } from '../services/credentials'
import type { IdempotentRequest } from '../services/idempotency'

/**
 * Per-request state shared by the plugins. Elysia's onRequest hooks cannot add to the context,
 * so the state hangs off the Request object itself (a WeakMap: nothing to clean up).
 */
export interface RequestState {
  requestId: string
  dialect: Dialect
  /** URL pathname, computed once. */
  path: string
  startedAt: number
  /** Memoised credential resolution: the rate limiter and bearer auth both need it. */
  credential?: Credential | Promise<Credential>
  /** Set by bearer auth once a protected route's credential rule is satisfied. */
  principal: Principal | null
  /** Final status, recorded by whichever hook produced the response (logs, metrics). */
  status?: number
  /** Set by the idempotency plugin when this request holds a claim. */
  idempotency?: { principal: string; key: string }
  /**
   * Set with a claim: stores (or, for 5xx, releases) the final response. Called once, by the
   * error envelope for errors and by the idempotency plugin's mapResponse for handler results.
   */
  settleResponse?: (response: Response) => Promise<void>
  responseSettled?: boolean
  /**
   * Set when the route stored its answer with the claim inside its own write transaction
   * (idempotency/settle-within.ts): its success needs no settling after it. An error still does
   * (that transaction rolled back).
   */
  settledWithin?: boolean
  /**
   * A claim left to the route's own write transaction (a route the idempotency plugin lists as
   * `claimedWithin`): its outcome is recorded by an upsert, whether the claim was taken or not.
   */
  pendingClaim?: IdempotentRequest
  /** Set once the route's transaction took that claim (which may still roll back). */
  claimTaken?: boolean
  /** Takes that claim inside the route's transaction: see idempotency/settle-within.ts. */
  takeClaim?: (tx: Tx) => Promise<Response | undefined>
  /** The body as read (within its limit) by the body guard, on /api and /v1. */
  body?: Uint8Array
  /** That body parsed, for JSON routes (undefined when empty or raw). */
  json?: unknown
  /** Set by a route whose answer carries a one-time secret: its stored replay is sealed. */
  secretResponse?: boolean
  /** Rate-limit policies already applied (headers are built from all of them). */
  rateLimits?: RateLimitOutcome[]
  /** Applies a route's own rate-limit policy (set by the rate limiter for authenticated calls). */
  applyRoutePolicy?: (policy: PolicyName) => Promise<void>
}

export interface RateLimitOutcome {
  policy: string
  /** `"<policy>";q=<limit>;w=<window seconds>` */
  policyHeader: string
  limit: number
  windowSeconds: number
  remaining: number
  /** Seconds until one more request would be allowed (0 when allowed now). */
  resetSeconds: number
}

const states = new WeakMap<Request, RequestState>()

/** Marks this request's answer as holding a one-time secret (a minted key): see sealed-body.ts. */
export function markSecretResponse(request: Request) {
  stateOf(request).secretResponse = true
}

/**
 * What identifies this request when keys for other systems are derived from it (Stripe's
 * idempotency keys): the client's Idempotency-Key when it sent one, so a retry derives the same
 * keys; otherwise this request's own id.
 */
export function requestKeyOf(request: Request): string {
  const state = stateOf(request)
  return state.idempotency ? `idempotency:${state.idempotency.key}` : `request:${state.requestId}`
}

export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start === -1) return '/'
  const q = url.indexOf('?', start)
  const h = url.indexOf('#', start)
  const end = q === -1 ? (h === -1 ? url.length : h) : h === -1 ? q : Math.min(q, h)
  return url.slice(start, end)
}

export const dialectOf = (path: string): Dialect => (path === '/v1' || path.startsWith('/v1/') ? 'v1' : 'api')

export function stateOf(request: Request): RequestState {
  let state = states.get(request)
  if (!state) {
    const path = pathOf(request.url)
    state = { requestId: '', dialect: dialectOf(path), path, startedAt: performance.now(), principal: null }
    states.set(request, state)
  }
  return state
}

/** True for the two API surfaces (rate limits, auth and idempotency apply only there). */
export const isApiPath = (path: string) =>
  path === '/api' || path.startsWith('/api/') || path === '/v1' || path.startsWith('/v1/')
