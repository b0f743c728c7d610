import { afterEach, expect } from 'bun:test'
import { createTestApp, type TestApp } from './harness'

/** A webhook receiver on a loopback port that records what it is sent and answers as told. */
export interface Received {
  headers: Record<string, string>
  body: string
  json: { id: string; type: string; created_at: string; data: Record<string, any> }
}

const running: { stop(): void }[] = []
afterEach(() => {
  for (const receiver of running.splice(0)) receiver.stop()
})

/** Stopped after the test. */
export function startReceiver() {
  const received: Received[] = []
  /** Statuses to answer, in turn; 204 once they run out. */
  const answers: number[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const body = await request.text()
      // A Security Event Token (format "set") is a JWT, not JSON: its `json` is empty.
      const json = body.startsWith('{') ? JSON.parse(body) : { id: '', type: '', created_at: '', data: {} }
      received.push({ headers: Object.fromEntries(request.headers), body, json })
      return new Response(null, { status: answers.shift() ?? 204 })
    },
  })
  const receiver = {
    url: `http://127.0.0.1:${server.port}/hooks`,
    received,
    answers,
    ofType: (type: string) => received.filter((r) => r.json.type === type),
    stop: () => server.stop(true),
  }
  running.push(receiver)
  return receiver
}

/** What the webhook tests run with: loopback receivers over http, retries a second apart. */
export const WEBHOOK_TEST_ENV = {
  RATE_LIMIT_ENABLED: 'false',
  WEBHOOKS_ALLOW_HTTP: 'true',
  WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_RETRY_SECONDS: '1,1,1,1',
}

/** A test app for webhooks, its clock on real time (signatures carry it; verifiers compare it), and a receiver. */
export function webhookTestApp(env: Record<string, string> = {}) {
  const t = createTestApp({ env: { ...WEBHOOK_TEST_ENV, ...env } })
  t.clock.set(Date.now())
  return { t, receiver: startReceiver() }
}

/** Registers an endpoint through the API (201 expected). */
export async function registerEndpoint(t: TestApp, token: string, body: Record<string, unknown>) {
  const r = await t.json('POST', '/v1/admin/webhook-endpoints', { token, body })
  expect(r.status).toBe(201)
  return r.body as { id: string; secret: string; url: string; events: string[]; status: string }
}
