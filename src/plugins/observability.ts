import { Elysia } from 'elysia'
import type { Logger } from '../lib/logger'
import type { Metrics } from '../lib/metrics'
import { hashUserId } from '../lib/pseudonym'
import type { RouteIndex } from '../lib/route-index'
import { stateOf } from './request-state'

export interface ObservabilityOptions {
  logger: Logger
  metrics: Metrics
  routeIndex?: RouteIndex
  /** False below LOG_LEVEL=info: then not even the line's fields are built. */
  logRequests: boolean
}

/**
 * One structured log line and one metrics sample per request, after the answer is sent. Labels
 * are route patterns, never raw paths (bounded cardinality, no ids in metrics). The log line holds
 * no token, key, email or body: the user appears as the pseudonymous hash deletion receipts use,
 * so an operator can follow one user's requests without learning who they are.
 */
export const observabilityPlugin = (options: ObservabilityOptions) =>
  // The matched pattern comes from the context Elysia hands this hook (`route`, set once routed);
  // a transform hook to record it cost every request a call and an Object.assign.
  new Elysia({ name: 'custodian/observability' }).onAfterResponse(
    { as: 'global' },
    ({ request, set, response, route: matched }) => {
      const state = stateOf(request)
      const status =
        state.status ??
        (response instanceof Response ? response.status : typeof set.status === 'number' ? set.status : 200)
      const route = matched || (options.routeIndex?.patternFor(request.method, state.path) ?? 'unmatched')
      const ms = performance.now() - state.startedAt
      options.metrics.request(request.method, route, status, ms / 1000)
      if (!options.logRequests) return
      const fields: Record<string, unknown> = {
        requestId: state.requestId,
        method: request.method,
        route,
        status,
        durationMs: Math.round(ms * 100) / 100,
      }
      if (state.principal) fields.user = hashUserId(state.principal.userId)
      // Probes and scrapes (8,640 a day from the image's HEALTHCHECK alone) only at debug.
      if (route === '/healthz' || route === '/readyz' || route === '/metrics')
        options.logger.debug('request', fields)
      else options.logger.info('request', fields)
    },
  )
