import { afterAll, afterEach, describe, expect, it } from 'bun:test'
import { RedisClient } from 'bun'
import { createLogger } from '../../src/lib/logger'
import { RedisRateLimitStore } from '../../src/plugins/rate-limit/redis-store'
import { freePort } from '../support/binary'
import { createTestApp, type TestApp } from '../support/harness'
import { type RedisProcess, startRedis } from '../support/redis'
import { until } from '../support/until'

// Redis unreachable, stalled or restarted under a running app (docs/operations.md, "When a service it depends on fails"; docs/api-notes.md): requests
// never hang on it nor answer 500, /readyz names it, one log line per outage, and the app goes
// back to Redis by itself once it answers.
const HAS_REDIS = Bun.which('redis-server') !== null
if (!HAS_REDIS && process.env.CI) throw new Error('redis-server is required in CI (.ci/run installs it)')

describe.skipIf(!HAS_REDIS)('rate limits while Redis is away (skipped without redis-server)', () => {
  const apps: TestApp[] = []
  const servers: RedisProcess[] = []
  afterEach(async () => {
    for (const app of apps.splice(0)) {
      await app.deps.rateLimitStore.close?.()
      app.deps.outages.stop()
      app.close()
    }
  })
  afterAll(async () => {
    for (const s of servers) await s.stop().catch(() => {})
  })

  function appOn(url: string, lines: string[] = []) {
    const t = createTestApp({
      env: { REDIS_URL: url, REDIS_TIMEOUT_MS: '50', RATE_LIMIT_DEFAULT: '3/60' },
      logger: createLogger('info', (line) => lines.push(line)),
    })
    apps.push(t)
    return t
  }

  it('starts with an unreachable REDIS_URL: not ready, naming Redis, yet answers within the local limit', async () => {
    const lines: string[] = []
    const t = appOn(`redis://127.0.0.1:${await freePort()}`, lines)
    expect(await t.deps.rateLimitStore.ready?.(2000)).toBe(false)
    const ready = await t.request('GET', '/readyz')
    expect(ready.status).toBe(503)
    const body = (await ready.json()) as { redis: string; reason: string }
    expect(body.redis).toBe('unreachable')
    expect(body.reason).toContain('Redis')
    const u = await t.createUser()
    const statuses: number[] = []
    for (let i = 0; i < 5; i++)
      statuses.push((await t.request('GET', '/api/status', { token: u.apiKey })).status)
    // The local window of RATE_LIMIT_DEFAULT=3/60: the limit still holds, per instance.
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    expect(lines.filter((l) => l.includes('"msg":"redis unavailable"'))).toHaveLength(1)
    expect(lines.join('\n')).not.toContain('127.0.0.1:')
  })

  it('answers while Redis is stalled (SIGSTOP) instead of waiting for it, and recovers when it resumes', async () => {
    const redis = (await startRedis()) as RedisProcess
    servers.push(redis)
    const lines: string[] = []
    const t = appOn(redis.url, lines)
    expect(await t.deps.rateLimitStore.ready?.()).toBe(true)
    const u = await t.createUser()
    expect((await t.request('GET', '/api/status', { token: u.apiKey })).status).toBe(200)
    redis.signal('SIGSTOP')
    try {
      // Without a command timeout this request waits for Redis for as long as it is stopped.
      const stalled = await t.request('GET', '/api/status', { token: u.apiKey })
      expect(stalled.status).toBe(200)
      expect((await t.request('GET', '/readyz')).status).toBe(503)
    } finally {
      redis.signal('SIGCONT')
    }
    await until(() => t.deps.rateLimitStore.available === true, 'the store to reconnect')
    expect((await t.request('GET', '/readyz')).status).toBe(200)
    expect(lines.filter((l) => l.includes('"msg":"redis unavailable"'))).toHaveLength(1)
    expect(lines.filter((l) => l.includes('"msg":"redis available again"'))).toHaveLength(1)
  })

  it('keeps answering through a Redis restart that outlasts its retries, then counts in Redis again', async () => {
    const first = (await startRedis()) as RedisProcess
    const lines: string[] = []
    const t = appOn(first.url, lines)
    expect(await t.deps.rateLimitStore.ready?.()).toBe(true)
    const u = await t.createUser()
    await first.stop()
    // Many requests while it is down: none is a 500, and the outage is logged once.
    const down: number[] = []
    for (let i = 0; i < 40; i++)
      down.push((await t.request('GET', '/api/status', { token: u.apiKey })).status)
    expect(down.filter((s) => s >= 500)).toEqual([])
    expect(new Set(down)).toEqual(new Set([200, 429]))
    const metrics = await (await t.request('GET', '/metrics')).text()
    expect(metrics).toMatch(/custodian_rate_limit_local_fallback_total \d+/)
    expect(metrics).toContain('custodian_dependency_up{dependency="redis"} 0')
    // Past Bun's own reconnection attempts (20 by default): only a store that keeps trying recovers.
    await Bun.sleep(3000)
    const back = (await startRedis(first.port)) as RedisProcess
    servers.push(back)
    await until(() => t.deps.rateLimitStore.available === true, 'the store to reconnect', 20_000)
    const other = await t.createUser()
    expect((await t.request('GET', '/api/status', { token: other.apiKey })).status).toBe(200)
    // The counter is in Redis again, under a pseudonym: neither the user id nor "user:" is stored.
    const client = new RedisClient(back.url)
    const keys = (await client.send('KEYS', ['*'])) as string[]
    client.close()
    expect(keys.length).toBeGreaterThan(0)
    expect(keys.join(' ')).not.toContain(other.user.id)
    expect(keys.join(' ')).not.toContain('user:')
    expect(lines.filter((l) => l.includes('"msg":"redis unavailable"'))).toHaveLength(1)
    expect(lines.filter((l) => l.includes('"msg":"redis available again"'))).toHaveLength(1)
  }, 40_000)

  it('keys counters by pseudonym and deletes an erased account’s counters with it', async () => {
    const redis = (await startRedis()) as RedisProcess
    servers.push(redis)
    const store = new RedisRateLimitStore(redis.url, { pseudonym: (p) => `h(${p.length})${Bun.hash(p)}` })
    expect(await store.ready()).toBe(true)
    const policy = { name: 'default' as const, limit: 5, windowMs: 60_000 }
    await store.hit('user:u1', policy, 1_800_000_000_000)
    await store.hit('user:u1', { ...policy, name: 'export' }, 1_800_000_000_000)
    await store.hit('ip:203.0.113.9', policy, 1_800_000_000_000)
    const client = new RedisClient(redis.url)
    const before = (await client.send('KEYS', ['*'])) as string[]
    expect(before).toHaveLength(3)
    expect(before.join(' ')).not.toMatch(/u1|203\.0\.113/)
    await store.forget('user:u1')
    const after = (await client.send('KEYS', ['*'])) as string[]
    client.close()
    store.close()
    expect(after).toHaveLength(1)
  })
})

describe.skipIf(!HAS_REDIS)('an erasure drops the account’s rate-limit counters', () => {
  it('leaves no key of the erased user in Redis', async () => {
    const redis = (await startRedis()) as RedisProcess
    const t = createTestApp({ env: { REDIS_URL: redis.url, ACCOUNT_DELETION_GRACE_DAYS: '0' } })
    try {
      expect(await t.deps.rateLimitStore.ready?.()).toBe(true)
      const u = await t.createUser()
      for (let i = 0; i < 3; i++) await t.request('GET', '/api/status', { token: u.apiKey })
      const client = new RedisClient(redis.url)
      const before = ((await client.send('KEYS', ['*'])) as string[]).length
      const erased = await t.request('DELETE', '/api/account', {
        token: u.apiKey,
        body: { confirm: 'DELETE' },
      })
      expect(erased.status).toBeLessThan(300)
      const after = (await client.send('KEYS', ['*'])) as string[]
      client.close()
      expect(before).toBeGreaterThan(0)
      expect(after).toEqual([])
    } finally {
      await t.deps.rateLimitStore.close?.()
      t.close()
      await redis.stop()
    }
  })
})

describe.skipIf(!HAS_REDIS)('a Redis that answers but refuses writes (a read-only replica)', () => {
  it('counts locally without flapping: one outage line, however many requests', async () => {
    const binary = Bun.which('redis-server') as string
    const port = await freePort()
    // A replica of a master that does not exist: it answers PING and reads, refuses every write.
    const replica = Bun.spawn(
      [
        binary,
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--replicaof',
        '127.0.0.1',
        String(await freePort()),
      ],
      { stdout: 'ignore', stderr: 'ignore' },
    )
    const lines: string[] = []
    const t = createTestApp({
      env: { REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_DEFAULT: '3/60' },
      logger: createLogger('info', (line) => lines.push(line)),
    })
    try {
      await Bun.sleep(300)
      expect(await t.deps.rateLimitStore.ready?.(1500)).toBe(false)
      const u = await t.createUser()
      const statuses: number[] = []
      for (let i = 0; i < 20; i++)
        statuses.push((await t.request('GET', '/api/status', { token: u.apiKey })).status)
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200])
      expect(new Set(statuses.slice(3))).toEqual(new Set([429]))
      expect((await t.json('GET', '/readyz')).body.redis).toBe('unreachable')
      expect(lines.filter((l) => l.includes('"msg":"redis unavailable"'))).toHaveLength(1)
      expect(lines.filter((l) => l.includes('"msg":"redis available again"'))).toHaveLength(0)
    } finally {
      await t.deps.rateLimitStore.close?.()
      t.deps.outages.stop()
      t.close()
      replica.kill()
      await replica.exited
    }
  })
})
