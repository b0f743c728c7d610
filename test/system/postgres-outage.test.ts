import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, runToEnd, SOURCE_CLI, waitForPort } from '../support/binary'
import { csrfIn } from '../support/console'
import { hasPostgres, type PostgresCluster, startPostgres } from '../support/postgres'
import { ONE_PASS, onPostgres } from '../support/test-database'

// PostgreSQL stopped under a running `custodian serve`: every request answers 503 in its
// dialect's envelope with Retry-After (not 500), one log line per outage (with a count), /readyz
// 503 with a reason, and the server serves again by itself once PostgreSQL is back, with every
// acknowledged write kept. A process of its own: one process builds queries for one store.
if (!hasPostgres() && process.env.CI) throw new Error('postgresql is required in CI (.ci/run installs it)')

const register = onPostgres
  ? (name: string, fn: () => void) => describe.skip(`${name}${ONE_PASS}`, fn)
  : describe.skipIf(!hasPostgres())
register('PostgreSQL unavailable under a running server', () => {
  let cluster: PostgresCluster
  let dir: string
  beforeAll(async () => {
    cluster = await startPostgres()
    await cluster.sql`CREATE DATABASE outage`
    dir = mkdtempSync(join(tmpdir(), 'custodian-pg-outage-'))
  })
  afterAll(() => {
    cluster?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers 503 with Retry-After in both envelopes, logs the outage once, and recovers by itself', async () => {
    const host = cluster.socketPath.replace(/\/\.s\.PGSQL\.\d+$/, '')
    const port = await freePort()
    const env = {
      ...process.env,
      DATABASE_URL: `postgres://custodian@localhost/outage?host=${host}`,
      INSTANCES: '1',
      DATABASE_PATH: join(dir, 'data', 'custodian.db'),
      STORAGE_DIR: join(dir, 'files'),
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      WEBHOOKS_ALLOW_HTTP: 'true',
      WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
    }
    const cli = async (args: string[]) => {
      const r = await runToEnd([...SOURCE_CLI, ...args], env, dir)
      expect(r.code).toBe(0)
      return JSON.parse(r.stdout) as Record<string, string>
    }
    const apiKey = (await cli(['user', 'create', '--email', 'outage@example.com', '--operator', '--json']))
      .apiKey as string
    const runtimeKey = (
      await cli(['key', 'create', '--email', 'outage@example.com', '--kind', 'runtime', '--json'])
    ).key as string
    // A webhook receiver: the delivery worker keeps failing quietly through the outage and delivers after it.
    const received: string[] = []
    const receiver = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: async (request) => {
        received.push(((await request.json()) as { type: string }).type)
        return new Response(null, { status: 204 })
      },
    })
    await cli([
      'webhooks',
      'create',
      '--url',
      `http://127.0.0.1:${receiver.port}/hooks`,
      '--events',
      'api_key.created',
      '--json',
    ])
    const server = Bun.spawn([...SOURCE_CLI, 'serve'], { cwd: dir, env, stdout: 'pipe', stderr: 'ignore' })
    let log = ''
    const reading = (async () => {
      for await (const chunk of server.stdout) log += new TextDecoder().decode(chunk)
    })()
    const lines = (msg: string) => log.split('\n').filter((l) => l.includes(`"msg":"${msg}"`))
    const base = `http://127.0.0.1:${port}`
    const call = (method: string, path: string, token: string, body?: unknown) =>
      fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    try {
      await waitForPort(port, 'custodian serve on PostgreSQL')
      const acknowledged = await call('POST', '/api/apps', apiKey, { appName: 'Before the outage' })
      expect(acknowledged.status).toBe(201)
      const { appId, slug } = (await acknowledged.json()) as { appId: string; slug: string }
      // A hosted page, read once so that it is cached: during the outage its epoch cannot be
      // read, so it is not answered from memory either.
      expect((await call('POST', `/api/apps/${appId}/deploy`, apiKey)).status).toBe(200)
      const page = () => fetch(`${base}/sites/${slug}/`)
      expect((await page()).status).toBe(200)
      // The console, signed in before the outage.
      const form = await fetch(`${base}/console/sign-in`)
      const formCookie = (form.headers.get('set-cookie') ?? '').split(';')[0] as string
      const signedIn = await fetch(`${base}/console/sign-in`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: formCookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: apiKey, csrf: csrfIn(await form.text()) }).toString(),
      })
      expect(signedIn.status).toBe(303)
      const consoleCookie = (signedIn.headers.getSetCookie()[0] ?? '').split(';')[0] as string
      const overview = () =>
        fetch(`${base}/console`, { headers: { cookie: consoleCookie }, redirect: 'manual' })
      expect((await overview()).status).toBe(200)

      cluster.pause()
      try {
        const answers: Response[] = []
        for (let i = 0; i < 20; i++) {
          answers.push(await call('POST', '/api/apps', apiKey, { appName: `During ${i}` }))
          answers.push(await call('GET', '/v1/account/me', runtimeKey))
        }
        const pageDuring = await page()
        expect(pageDuring.status).toBe(503)
        const consoleDuring = await overview()
        expect(consoleDuring.status).toBe(503)
        expect(consoleDuring.headers.get('retry-after')).toMatch(/^\d+$/)
        expect(consoleDuring.headers.get('content-type')).toContain('text/html')
        expect(pageDuring.headers.get('retry-after')).toMatch(/^\d+$/)
        expect(answers.map((r) => r.status).filter((s) => s !== 503)).toEqual([])
        const api = answers[0] as Response
        expect(api.headers.get('retry-after')).toMatch(/^\d+$/)
        expect(((await api.json()) as { error: { code: string } }).error.code).toBe('INTERNAL_ERROR')
        const v1 = answers[1] as Response
        expect(v1.headers.get('retry-after')).toMatch(/^\d+$/)
        expect(((await v1.json()) as { code: string }).code).toBe('service_unavailable')
        const ready = await fetch(`${base}/readyz`)
        expect(ready.status).toBe(503)
        const readiness = (await ready.json()) as { database: string; reason: string }
        expect(readiness.database).toBe('unavailable')
        expect(readiness.reason).toContain('unreachable')
      } finally {
        cluster.resume()
      }
      // Back without a restart: requests are served again and the outage is closed in one line.
      const deadline = Date.now() + 20_000
      let after = await call('GET', `/api/apps/${appId}`, apiKey)
      while (after.status !== 200 && Date.now() < deadline) {
        await Bun.sleep(200)
        after = await call('GET', `/api/apps/${appId}`, apiKey)
      }
      expect(after.status).toBe(200)
      expect(((await after.json()) as { appName: string }).appName).toBe('Before the outage')
      expect((await page()).status).toBe(200)
      expect((await overview()).status).toBe(200)
      while (lines('database available again').length === 0 && Date.now() < deadline) await Bun.sleep(100)
      expect((await fetch(`${base}/readyz`)).status).toBe(200)
      // Only the acknowledged app exists: none of the refused creates left a row.
      const list = (await (await call('GET', '/api/apps', apiKey)).json()) as
        | { appName: string }[]
        | { apps: { appName: string }[] }
      const names = (Array.isArray(list) ? list : list.apps).map((a) => a.appName)
      expect(names).toEqual(['Before the outage'])
      // The delivery worker failed at most once in the log, and delivers again by itself.
      expect(lines('webhook delivery pass failed; retrying').length).toBeLessThanOrEqual(1)
      await cli(['key', 'create', '--email', 'outage@example.com', '--json'])
      while (!received.includes('api_key.created') && Date.now() < deadline + 10_000) await Bun.sleep(100)
      expect(received).toContain('api_key.created')
    } finally {
      receiver.stop(true)
      server.kill('SIGTERM')
      await server.exited
      await reading
    }
    expect(lines('database unavailable')).toHaveLength(1)
    const recovered = lines('database available again')
    expect(recovered).toHaveLength(1)
    expect(JSON.parse(recovered[0] as string).failures).toBeGreaterThanOrEqual(40)
    expect(lines('unhandled error')).toEqual([])
  }, 90_000)
})
