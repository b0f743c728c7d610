import type { PolicyName, RatePolicy } from '../../config'
import { AppError } from '../../errors'
import type { PeerSource } from '../../lib/client-ip'
import type { Clock } from '../../lib/clock'
import type { GateContext, GateStep } from '../request-gate'
import { isApiPath, type RateLimitOutcome, type RequestState, stateOf } from '../request-state'
import type { Decision } from './sliding-window'
import type { RateLimitStore } from './store'

export interface Identity {
  /** `user:<id>` for valid credentials, `ip:<address>` otherwise. */
  partition: string
  authenticated: boolean
}

export interface RateLimitOptions {
  /** `RATE_LIMIT_ENABLED`. @default true */
  enabled: boolean
  policies: Record<PolicyName, RatePolicy>
  store: RateLimitStore
  clock: Clock
  /** Who is calling (resolves credentials once per request; bearer auth reuses the result). */
  identify(request: Request, server: PeerSource | null): Identity | Promise<Identity>
  /** Paths exempt from limiting inside the API surfaces (the signed Stripe webhook). @default [] */
  exempt?: string[]
  /** Called for every refusal, with the policy that refused (metrics). */
  onRejected?: (policy: string) => void
}

function writeHeaders(set: { headers: Record<string, string | number> }, outcomes: RateLimitOutcome[]) {
  if (outcomes.length === 1) {
    // The common case (one policy applied): no joining.
    const o = outcomes[0] as RateLimitOutcome
    set.headers['ratelimit-policy'] = o.policyHeader
    set.headers.ratelimit = `"${o.policy}";r=${o.remaining};t=${o.resetSeconds}`
    return
  }
  let policy = ''
  let limit = ''
  for (const o of outcomes) {
    const sep = policy ? ', ' : ''
    policy += sep + o.policyHeader
    limit += `${sep}"${o.policy}";r=${o.remaining};t=${o.resetSeconds}`
  }
  set.headers['ratelimit-policy'] = policy
  set.headers.ratelimit = limit
}

export const rateLimitStep = (options: RateLimitOptions): GateStep => {
  const exempt = new Set(options.exempt ?? [])
  // `"default";q=300;w=60`, once per policy rather than once per request.
  const policyHeaders = new Map(
    Object.values(options.policies).map((p) => [
      p.name,
      `"${p.name}";q=${p.limit};w=${Math.round(p.windowMs / 1000)}`,
    ]),
  )

  function record(
    state: RequestState,
    set: { headers: Record<string, string | number> },
    policy: RatePolicy,
    decision: Decision,
  ) {
    const outcome: RateLimitOutcome = {
      policy: policy.name,
      policyHeader: policyHeaders.get(policy.name) as string,
      limit: policy.limit,
      windowSeconds: Math.round(policy.windowMs / 1000),
      remaining: decision.remaining,
      resetSeconds: Math.min(Math.ceil(decision.retryAfterMs / 1000), Math.round(policy.windowMs / 1000)),
    }
    if (state.rateLimits) state.rateLimits.push(outcome)
    else state.rateLimits = [outcome]
    writeHeaders(set, state.rateLimits)
    if (!decision.allowed) {
      options.onRejected?.(policy.name)
      // The sliding window's estimate can put the next slot past one window (3,648 s for a
      // 10/3600 policy); never advertise more than the window (docs/operations.md, "When a service it depends on fails"; docs/api-notes.md).
      const retryAfter = Math.max(
        1,
        Math.min(Math.ceil(decision.retryAfterMs / 1000), Math.round(policy.windowMs / 1000)),
      )
      throw new AppError(
        'RATE_LIMITED',
        `Too many requests (policy "${policy.name}"); retry in ${retryAfter} s.`,
        {
          headers: { 'retry-after': String(retryAfter) },
        },
      )
    }
  }

  /** Counts the request; only awaits when the store is remote (Redis). */
  function apply(
    state: RequestState,
    set: { headers: Record<string, string | number> },
    policy: RatePolicy,
    partition: string,
  ) {
    const decision = options.store.hit(partition, policy, options.clock.now())
    if (decision instanceof Promise) return decision.then((d) => record(state, set, policy, d))
    record(state, set, policy, decision)
    return undefined
  }

  const limit = (state: RequestState, set: GateContext['set'], who: Identity) => {
    if (who.authenticated)
      state.applyRoutePolicy = async (name: PolicyName) =>
        apply(state, set, options.policies[name], who.partition)
    return apply(
      state,
      set,
      who.authenticated ? options.policies.default : options.policies.unauthenticated,
      who.partition,
    )
  }
  /** Synchronous unless the credential or the counter store has to be awaited. */
  const step: GateStep = ({ request, set, server }) => {
    if (!options.enabled) return undefined
    const state = stateOf(request)
    if (!isApiPath(state.path) || exempt.has(state.path)) return undefined
    const who = options.identify(request, server as PeerSource | null)
    return who instanceof Promise ? who.then((w) => limit(state, set, w)) : limit(state, set, who)
  }
  return step
}
