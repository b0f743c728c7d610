import { describe, expect, it } from 'bun:test'
import { createPipeline } from '../../src/app'
import { createTestApp } from '../support/harness'
import { scopeProbeRoutes } from '../support/scope-probe-routes'

// The traffic plugins are registered once, on the root; hooks are global. A route module built in
// another file and mounted after them must be covered exactly like the app's own routes.
describe('plugin scope', () => {
  const t = createTestApp({ env: { RATE_LIMIT_DEFAULT: '100/60' } })
  const app = createPipeline(t.deps).use(scopeProbeRoutes)
  const call = (path: string, token: string, headers: Record<string, string> = {}) =>
    app.handle(
      new Request(`http://localhost${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...headers },
      }),
    )

  it('authenticates, rate-limits and replays on a route module registered after the plugins', async () => {
    const u = await t.createUser()
    expect((await call('/api/probe', 'ok_nope')).status).toBe(401)
    const first = await call('/api/probe', u.apiKey, { 'idempotency-key': 'p1' })
    expect(first.status).toBe(201)
    expect(first.headers.get('ratelimit-policy')).toBe('"default";q=100;w=60, "export";q=10;w=3600')
    const body = await first.text()
    const again = await call('/api/probe', u.apiKey, { 'idempotency-key': 'p1' })
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(await again.text()).toBe(body)
  })

  it('enforces the per-route "idempotency required" option', async () => {
    const u = await t.createUser()
    const missing = await call('/v1/probe-required', u.session)
    expect(missing.status).toBe(400)
    expect(((await missing.json()) as any).code).toBe('invalid_request')
    expect((await call('/v1/probe-required', u.session, { 'idempotency-key': 'r1' })).status).toBe(200)
  })
})
