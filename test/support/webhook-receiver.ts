/** A webhook receiver on a loopback port that records what it is sent and answers as told. */
export interface Received {
  headers: Record<string, string>
  body: string
  json: { id: string; type: string; created_at: string; data: Record<string, any> }
}

export function startReceiver() {
  const received: Received[] = []
  /** Statuses to answer, in turn; 204 once they run out. */
  const answers: number[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const body = await request.text()
      received.push({ headers: Object.fromEntries(request.headers), body, json: JSON.parse(body) })
      return new Response(null, { status: answers.shift() ?? 204 })
    },
  })
  return {
    url: `http://127.0.0.1:${server.port}/hooks`,
    received,
    answers,
    ofType: (type: string) => received.filter((r) => r.json.type === type),
    stop: () => server.stop(true),
  }
}

/** What the webhook tests run with: loopback receivers over http, retries a second apart. */
export const WEBHOOK_TEST_ENV = {
  RATE_LIMIT_ENABLED: 'false',
  WEBHOOKS_ALLOW_HTTP: 'true',
  WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_RETRY_SECONDS: '1,1,1,1',
}
