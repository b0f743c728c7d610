import { AppError } from '../errors'
import type { Credential, CredentialKind, CredentialVerifier, Principal } from '../services/credentials'
import type { GateStep } from './request-gate'
import { type RequestState, stateOf } from './request-state'

/** What a route takes (docs/spec/traffic.md §1, "Which credential a route takes"). */
export interface CredentialRule {
  accepts: readonly CredentialKind[]
  verifiedEmail?: boolean
  operator?: boolean
}

const ANY_API: CredentialRule = { accepts: ['session', 'orbit'] }
const SESSION: CredentialRule = { accepts: ['session'] }
const SESSION_VERIFIED: CredentialRule = { accepts: ['session'], verifiedEmail: true }
const RUNTIME: CredentialRule = { accepts: ['session', 'runtime', 'operator'] }
const OPERATOR: CredentialRule = { accepts: ['session'], operator: true }

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`)

/**
 * The credential rule for a path, or null for public paths (health, docs, hosted sites, the
 * Stripe webhook, which proves itself with its signature; erasure acknowledgements, by their link).
 * Decision: `/api` takes `ok_` keys and sessions only; `ns_live_` keys are the /v1 runtime's and a
 * leaked one must not reach `/api` account routes (DELETE /api/account) any more than /v1's.
 */
export function credentialRuleFor(path: string): CredentialRule | null {
  if (under(path, '/api')) return path === '/api/webhooks/stripe' ? null : ANY_API
  if (!under(path, '/v1')) return null
  // A processor proves itself with the capability in the path (services/erasure-processors.ts).
  if (under(path, '/v1/erasure-acknowledgements')) return null
  // The erased user's capability link to the certificate (services/receipt-links.ts).
  if (under(path, '/v1/erasure-receipts')) return null
  // An export archive's signed download link (services/export-archives.ts).
  if (under(path, '/v1/export-archives')) return null
  if (under(path, '/v1/account')) return SESSION
  if (under(path, '/v1/keys')) return SESSION_VERIFIED
  if (under(path, '/v1/admin')) return OPERATOR
  return RUNTIME
}

/** While soft-deleted, a /v1 account may only read itself, export and restore (docs/spec/data-rights.md §2). */
function allowedWhileSoftDeleted(method: string, path: string): boolean {
  if (method === 'GET' || method === 'HEAD') return path === '/v1/account/me' || path === '/v1/account/export'
  return method === 'POST' && path === '/v1/account/restore'
}

const unauthorized = (message: string) =>
  new AppError('UNAUTHORIZED', message, { headers: { 'www-authenticate': 'Bearer realm="custodian"' } })

const BEARER = /^Bearer +([\x21-\x7e]{1,4096})\s*$/i

/** The token of `Authorization: Bearer <token>`, or null when absent or malformed. */
export function bearerToken(request: Request): string | null {
  const header = request.headers.get('authorization')
  return header === null ? null : (BEARER.exec(header)?.[1] ?? null)
}

const MISSING: Credential = { ok: false, reason: 'missing' }
const MALFORMED: Credential = { ok: false, reason: 'malformed' }

/**
 * Parses `Authorization: Bearer <token>` and verifies it, once per request. An API key is
 * answered synchronously; only a session token may need awaiting.
 */
export function resolveCredential(
  request: Request,
  verifier: CredentialVerifier,
): Credential | Promise<Credential> {
  const state = stateOf(request)
  if (!state.credential) {
    const token = bearerToken(request)
    state.credential = token
      ? verifier.verify(token)
      : request.headers.has('authorization')
        ? MALFORMED
        : MISSING
  }
  return state.credential
}

export function enforceRule(
  rule: CredentialRule,
  credential: Credential,
  method: string,
  state: RequestState,
): Principal {
  if (!credential.ok) {
    throw unauthorized(
      credential.reason === 'missing'
        ? 'Missing bearer token (Authorization: Bearer <token>).'
        : credential.reason === 'malformed'
          ? 'Malformed Authorization header or token.'
          : credential.reason === 'no_session_verifier'
            ? 'Session tokens are not accepted: this server has no session-token verifier configured (set AUTH_JWT_SECRET or AUTH_JWKS_URL and restart it).'
            : 'Invalid or expired token.',
    )
  }
  const principal = credential.principal
  if (!rule.accepts.includes(principal.credential))
    throw unauthorized(
      rule.accepts.length === 1
        ? 'This route needs a session token; API keys are not accepted here.'
        : `This route does not accept ${principal.credential === 'orbit' ? '/api (ok_)' : '/v1 (ns_live_)'} API keys.`,
    )
  if (principal.softDeleted) {
    if (state.dialect === 'api')
      throw new AppError('ACCOUNT_DELETED', 'The account is scheduled for deletion.')
    if (!allowedWhileSoftDeleted(method, state.path))
      throw new AppError(
        'ACCOUNT_DELETED',
        'The account is scheduled for deletion; restore it with POST /v1/account/restore.',
      )
  }
  if (rule.operator && !principal.isOperator)
    throw new AppError('OPERATOR_REQUIRED', 'This route needs an operator.')
  if (rule.verifiedEmail && !principal.emailVerified)
    throw new AppError('EMAIL_NOT_VERIFIED', 'Verify your email address before managing API keys.')
  return principal
}

export interface BearerAuthOptions {
  verifier: CredentialVerifier
  /**
   * Asked before a refused credential becomes a 401: an answer that must still be given to it
   * (a retried DELETE /api/account replaying its 204 after the account is gone). @default none
   */
  refusedReplay?: (request: Request, token: string | null) => Response | null | Promise<Response | null>
  /** Told of every admitted principal (the account's last activity, for retention). Must not throw. */
  onAdmitted?: (principal: Principal) => void
}

/**
 * Enforces the credential rule of every API path before routing, parsing and validation, so an
 * unauthenticated caller learns nothing about a route's body rules. Handlers read `principal`
 * through plugins/principal.ts.
 */
export function bearerAuthStep({ verifier, refusedReplay, onAdmitted }: BearerAuthOptions): GateStep {
  const admit = (request: Request, state: RequestState, rule: CredentialRule, credential: Credential) => {
    if (!credential.ok && refusedReplay) {
      const replay = refusedReplay(request, bearerToken(request))
      if (replay instanceof Promise)
        return replay.then((answer) => answer ?? enforceRule(rule, credential, request.method, state))
      if (replay) return replay
    }
    state.principal = enforceRule(rule, credential, request.method, state)
    onAdmitted?.(state.principal)
    return undefined
  }
  return ({ request }) => {
    const state = stateOf(request)
    const rule = credentialRuleFor(state.path)
    if (!rule) return undefined
    const credential = resolveCredential(request, verifier)
    return credential instanceof Promise
      ? credential.then((c) => admit(request, state, rule, c))
      : admit(request, state, rule, credential)
  }
}
