import { afterEach, describe, expect, it } from 'bun:test'
import { createLogger } from '../../src/lib/logger'
import { hashUserId } from '../../src/lib/pseudonym'
import { type BillingTestApp, createAppFor, createBillingTestApp } from '../support/billing'
import { createTestApp } from '../support/harness'

/** A metric's value from the exposition text, by name and exact label set. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const have = (match[2] ?? '').split(',').filter(Boolean).sort().join(',')
    if (have === wanted) return Number(match[3])
  }
  return undefined
}

/** Logs and metrics are written after the answer is sent: let those hooks run. */
const afterResponses = () => Bun.sleep(20)

let billing: BillingTestApp | null = null
afterEach(() => {
  billing?.close()
  billing = null
})

describe('GET /metrics', () => {
  it('counts requests by route pattern and status, with latency, rejections, replays and deletions', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_DEFAULT: '6/60' } })
    const u = await t.createUser()
    for (let i = 0; i < 3; i++) await t.request('GET', '/api/status', { token: u.apiKey })
    await t.request('GET', '/api/apps/-Nmissing', { token: u.apiKey })
    const patch = { token: u.session, body: { display_name: 'Ada' }, headers: { 'idempotency-key': 'same' } }
    await t.request('PATCH', '/v1/account/me', patch)
    await t.request('PATCH', '/v1/account/me', patch)
    for (let i = 0; i < 2; i++) await t.request('GET', '/api/status', { token: u.apiKey })
    await t.request('GET', '/api/status') // unauthenticated
    const victim = await t.createUser()
    await t.request('DELETE', '/api/account', { token: victim.apiKey })

    await afterResponses()
    const r = await t.request('GET', '/metrics')
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toStartWith('text/plain')
    const text = await r.text()
    expect(
      sample(text, 'custodian_http_requests_total', { method: 'GET', route: '/api/status', status: '200' }),
    ).toBe(3)
    expect(
      sample(text, 'custodian_http_requests_total', { method: 'GET', route: '/api/status', status: '429' }),
    ).toBe(2)
    expect(
      sample(text, 'custodian_http_requests_total', { method: 'GET', route: '/api/status', status: '401' }),
    ).toBe(1)
    expect(
      sample(text, 'custodian_http_requests_total', {
        method: 'GET',
        route: '/api/apps/:appId',
        status: '404',
      }),
    ).toBe(1)
    expect(
      sample(text, 'custodian_http_request_duration_seconds_count', { method: 'GET', route: '/api/status' }),
    ).toBe(6)
    expect(
      sample(text, 'custodian_http_request_duration_seconds_bucket', {
        method: 'GET',
        route: '/api/status',
        le: '+Inf',
      }),
    ).toBe(6)
    expect(sample(text, 'custodian_rate_limit_rejections_total', { policy: 'default' })).toBe(2)
    expect(sample(text, 'custodian_idempotent_replays_total')).toBe(1)
    for (const step of ['requested', 'billing_stopped', 'data_erased', 'done'])
      expect({ step, n: sample(text, 'custodian_deletion_steps_total', { step }) }).toEqual({ step, n: 1 })
    // Patterns only: no id, key or email ever becomes a label.
    expect(text).not.toContain('-Nmissing')
    expect(text).not.toContain(u.user.email)
    expect(text).not.toContain(u.user.id)
  })

  it('counts Stripe call errors by kind', async () => {
    billing = createBillingTestApp()
    const u = await billing.t.createUser()
    const appId = await createAppFor(billing, u)
    billing.em.failNext(3, { kind: 'status', status: 500 })
    const r = await billing.t.request('POST', `/api/apps/${appId}/create-subscription`, {
      token: u.apiKey,
      body: { plan: 'monthly' },
    })
    expect(r.status).toBe(502)
    await billing.t.request('PUT', '/api/payment-method', {
      token: u.apiKey,
      body: { paymentMethodId: 'pm_card_chargeDeclined' },
    })
    await afterResponses()
    const text = await (await billing.t.request('GET', '/metrics')).text()
    expect(sample(text, 'custodian_stripe_errors_total', { kind: 'unavailable' })).toBe(1)
    expect(sample(text, 'custodian_stripe_errors_total', { kind: 'card' })).toBe(1)
  })

  it('needs METRICS_TOKEN as a bearer token when it is set', async () => {
    const token = 'metrics-token-0123456789'
    const t = createTestApp({ env: { METRICS_TOKEN: token } })
    expect((await t.request('GET', '/metrics')).status).toBe(401)
    expect((await t.request('GET', '/metrics', { token: 'wrong-token-0123456789' })).status).toBe(401)
    const ok = await t.request('GET', '/metrics', { token })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('custodian_http_requests_total')
  })
})

describe('request logs', () => {
  it('writes one JSON line per request with no token, key, email or body', async () => {
    const lines: string[] = []
    const t = createTestApp({
      env: { LOG_LEVEL: 'info' },
      logger: createLogger('info', (l) => lines.push(l)),
    })
    const u = await t.createUser()
    await t.request('GET', '/api/status', { token: u.apiKey, headers: { 'x-request-id': 'trace-1' } })
    const created = await t.json('POST', '/api/api-keys', { token: u.apiKey, body: { name: 'secret-name' } })
    await t.request('PATCH', '/v1/account/me', { token: u.session, body: { display_name: 'Body Text' } })
    await t.request('GET', '/healthz')
    await afterResponses()
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request')
    // Probes and scrapes are logged at debug only (the image's HEALTHCHECK runs every 10 s).
    expect(requests).toHaveLength(3)
    expect(requests[0]).toEqual({
      time: expect.any(String),
      level: 'info',
      msg: 'request',
      requestId: 'trace-1',
      method: 'GET',
      route: '/api/status',
      status: 200,
      durationMs: expect.any(Number),
      user: hashUserId(u.user.id),
    })
    expect(requests.map((l) => [l.method, l.route, l.status])).toEqual([
      ['GET', '/api/status', 200],
      ['POST', '/api/api-keys', 201],
      ['PATCH', '/v1/account/me', 200],
    ])
    const all = lines.join('\n')
    for (const secret of [
      u.apiKey,
      u.session,
      created.body.key,
      u.user.email,
      'secret-name',
      'Body Text',
      u.user.id,
    ])
      expect({ secret, found: all.includes(secret) }).toEqual({ secret, found: false })
  })

  it('logs health checks and metric scrapes at debug, not info', async () => {
    const lines: string[] = []
    const t = createTestApp({
      env: { LOG_LEVEL: 'debug' },
      logger: createLogger('debug', (l) => lines.push(l)),
    })
    for (const path of ['/healthz', '/readyz', '/metrics']) await t.request('GET', path)
    await afterResponses()
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request')
    expect(requests.map((l) => [l.route, l.level])).toEqual([
      ['/healthz', 'debug'],
      ['/readyz', 'debug'],
      ['/metrics', 'debug'],
    ])
  })

  it('writes nothing per request below LOG_LEVEL=info', async () => {
    const lines: string[] = []
    const t = createTestApp({
      env: { LOG_LEVEL: 'warn' },
      logger: createLogger('warn', (l) => lines.push(l)),
    })
    await t.request('GET', '/healthz')
    await afterResponses()
    expect(lines).toEqual([])
  })
})
