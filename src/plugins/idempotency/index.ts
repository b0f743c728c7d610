import { Elysia } from 'elysia'
import type { Store } from '../../../db/store'
import { AppError } from '../../errors'
import type { Clock } from '../../lib/clock'
import type { Principal } from '../../services/credentials'
import {
  type ClaimOutcome,
  claimIdempotencyKey,
  claimIdempotencyKeyWithin,
  completeIdempotencyKey,
  recordIdempotencyOutcome,
  releaseIdempotencyKey,
  type StoredResponse,
} from '../../services/idempotency'
import type { GateStep } from '../request-gate'
import { type RequestState, stateOf } from '../request-state'
import { requestFingerprint } from './fingerprint'
import { parseIdempotencyKey } from './header'
import { isSealed, openBody, sealBody } from './sealed-body'

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export interface IdempotencyOptions {
  store: Store
  clock: Clock
  /** Called on every replay (metrics). @default undefined */
  onReplay?: () => void
  /**
   * Routes (`"POST /v1/sandboxes"`) whose whole effect is one write transaction that takes the
   * claim itself, as its first statement (takeClaimWithin): one write transaction per request
   * instead of two. @default none
   */
  claimedWithin?: ReadonlySet<string>
}

/**
 * Idempotency keys (docs/spec/traffic.md §3) on POST/PUT/PATCH/DELETE of both dialects, scoped to the
 * authenticated principal. The claim is taken before routing; the outcome is stored once the
 * response exists (2xx and 4xx; a 5xx releases the claim so a retry runs again). A repeat with the
 * same request replays the stored bytes with `Idempotent-Replayed: true` and the handler does not
 * run. Claim, work and store are separate short transactions — except on a route listed as
 * `claimedWithin`, whose own transaction takes the claim and stores its answer (settle-within.ts).
 */
export function idempotencyParts({ store, clock, onReplay, claimedWithin }: IdempotencyOptions) {
  async function settle(principal: string, key: string, response: Response, request: Request) {
    const { pendingClaim: pending, claimTaken, secretResponse } = stateOf(request)
    // docs/spec/traffic.md §3: 401 and 429 are never stored (a refusal must not outlive its cause), and a
    // 5xx releases the claim so a retry runs again. A claim never taken has nothing to release
    // (and must not release another request's).
    if (response.status >= 500 || response.status === 401 || response.status === 429) {
      if (!pending || claimTaken) await releaseIdempotencyKey(store, principal, key)
      return
    }
    const text = response.body === null ? '' : await response.clone().text()
    // IMPORTANT: never keep a minted key readable at rest (in the database or a backup).
    const body = text === '' ? null : secretResponse ? await sealBody(text, credentialOf(request), key) : text
    const outcome: StoredResponse = {
      status: response.status,
      body,
      contentType: response.headers.get('content-type'),
      location: response.headers.get('location'),
    }
    if (pending) await recordIdempotencyOutcome(store, clock, pending, outcome)
    else await completeIdempotencyKey(store, principal, key, outcome)
  }

  /** Synchronous for everything but a mutating request that carries a key. */
  const step: GateStep = ({ request }) => {
    if (!MUTATING.has(request.method)) return undefined
    const state = stateOf(request)
    const principal = state.principal
    if (!principal) return undefined // a public route: nobody to scope a key to
    const raw = request.headers.get('idempotency-key')
    if (raw === null) return undefined
    const key = parseIdempotencyKey(raw)
    if (claimedWithin?.has(`${request.method} ${state.path}`))
      return deferClaim(request, state, principal, key)
    return claimKey(request, state, principal, key)
  }

  const claimOf = async (request: Request, state: RequestState, principal: Principal, key: string) => ({
    principal: principal.userId,
    key,
    method: request.method,
    path: state.path,
    fingerprint: await requestFingerprint(request, state.path),
  })

  async function claimKey(request: Request, state: RequestState, principal: Principal, key: string) {
    const claim = await claimIdempotencyKey(store, clock, await claimOf(request, state, principal, key))
    const answer = await answerTo(claim, request, state, key)
    if (answer === undefined) holdClaim(request, state, principal.userId, key)
    return answer
  }

  /**
   * The claim is left to the route's transaction (settle-within.ts: takeClaimWithin). An outcome
   * settled afterwards (a validation error, a rolled-back transaction) is recorded by an upsert.
   */
  async function deferClaim(request: Request, state: RequestState, principal: Principal, key: string) {
    const pending = await claimOf(request, state, principal, key)
    state.pendingClaim = pending
    state.takeClaim = async (tx) => {
      const claim = await claimIdempotencyKeyWithin(tx, clock.now(), pending)
      if (claim.kind === 'claimed') {
        // Whether it commits is the transaction's affair: settling records the outcome either way.
        state.claimTaken = true
        return undefined
      }
      state.responseSettled = true // replayed or refused: nothing to store, as when claimed first
      return answerTo(claim, request, state, key)
    }
    holdClaim(request, state, principal.userId, key)
  }

  function holdClaim(request: Request, state: RequestState, principal: string, key: string) {
    state.idempotency = { principal, key }
    state.settleResponse = async (response) => {
      state.responseSettled = true
      await settle(principal, key, response, request)
    }
  }

  /** What a claim's outcome answers: undefined when the request goes on to its route. */
  async function answerTo(
    claim: ClaimOutcome,
    request: Request,
    state: RequestState,
    key: string,
  ): Promise<Response | undefined> {
    switch (claim.kind) {
      case 'replay': {
        let stored = claim.response
        if (isSealed(stored.body)) {
          const opened = await openBody(stored.body as string, credentialOf(request), key)
          if (opened === null)
            throw new AppError(
              'IDEMPOTENCY_KEY_REUSE',
              'This Idempotency-Key was used by another credential; its answer holds a one-time secret and is replayed only to that credential.',
            )
          stored = { ...stored, body: opened }
        }
        onReplay?.()
        state.status = stored.status
        return replay(stored)
      }
      case 'account_gone':
        throw new AppError('UNAUTHORIZED', 'This account is being erased.')
      case 'mismatch':
        throw new AppError(
          'IDEMPOTENCY_KEY_REUSE',
          'This Idempotency-Key was already used for a different request.',
        )
      case 'in_progress':
        throw new AppError(
          'IDEMPOTENCY_IN_PROGRESS',
          'The first request with this Idempotency-Key is still in progress; retry shortly.',
          { headers: { 'retry-after': '1' } },
        )
      case 'claimed':
        return undefined
    }
  }

  const plugin = new Elysia({ name: 'custodian/idempotency' }).mapResponse(
    { as: 'global' },
    ({ request, response, set }) => {
      const state = stateOf(request)
      if (!state.settleResponse || state.responseSettled || state.settledWithin) return undefined
      const final = toResponse(response, set.status)
      return state.settleResponse(final).then(() => final)
    },
  )
  return { step, plugin }
}

/** The credential as sent: what seals and opens a stored secret answer. */
const credentialOf = (request: Request) => request.headers.get('authorization') ?? ''

function replay(stored: StoredResponse): Response {
  const headers: Record<string, string> = { 'idempotent-replayed': 'true' }
  if (stored.contentType) headers['content-type'] = stored.contentType
  if (stored.location) headers.location = stored.location
  return new Response(stored.body, { status: stored.status, headers })
}

/** The handler's value as the exact Response that will be sent (and stored). */
function toResponse(value: unknown, status: number | string | undefined): Response {
  if (value instanceof Response) return value
  const code = typeof status === 'number' ? status : 200
  if (
    value !== null &&
    typeof value === 'object' &&
    'code' in value &&
    'response' in value &&
    value.constructor?.name === 'ElysiaCustomStatusResponse'
  )
    return toResponse((value as { response: unknown }).response, (value as { code: number }).code)
  if (value === undefined || value === null) return new Response(null, { status: code })
  if (typeof value === 'string')
    return new Response(value, { status: code, headers: { 'content-type': 'text/plain;charset=utf-8' } })
  return new Response(JSON.stringify(value), {
    status: code,
    headers: { 'content-type': 'application/json;charset=utf-8' },
  })
}
