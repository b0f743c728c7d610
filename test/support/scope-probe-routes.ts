import { Elysia } from 'elysia'
import { principalContext } from '../../src/plugins/principal'
import { routeOptions } from '../../src/plugins/route-options'

let calls = 0

/** A route module from another file, for the plugin-scope test. */
export const scopeProbeRoutes = new Elysia()
  .use(principalContext)
  .use(routeOptions)
  .post(
    '/api/probe',
    ({ principal, set }) => {
      set.status = 201
      return { calls: ++calls, user: principal.userId }
    },
    { rateLimit: 'export' },
  )
  .post('/v1/probe-required', () => ({ ok: true }), { idempotency: 'required' })
