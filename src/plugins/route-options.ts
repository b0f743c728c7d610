import { Elysia } from 'elysia'
import type { PolicyName } from '../config'
import { AppError } from '../errors'
import { stateOf } from './request-state'

/**
 * Per-route options of the traffic plugins, as Elysia macros. Route modules `.use()` this
 * singleton for the typing; the work is done by the plugins registered on the root app:
 *
 * - `rateLimit: '<policy>'` — the route's own policy, stacked with `default`. Applied at
 *   transform, before validation, so invalid requests count against it too.
 * - `idempotency: 'required'` — refuse the request without an `Idempotency-Key`.
 */
export const routeOptions = new Elysia({ name: 'custodian/route-options' }).macro({
  rateLimit: (policy: PolicyName) => ({
    async transform({ request }) {
      await stateOf(request).applyRoutePolicy?.(policy)
    },
  }),
  idempotency: (mode: 'required') => ({
    transform({ request }) {
      if (mode === 'required' && !stateOf(request).idempotency)
        throw new AppError('INVALID_REQUEST', 'This route requires an Idempotency-Key header.')
    },
  }),
})
