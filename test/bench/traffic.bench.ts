import { MemoryRateLimitStore } from '../../src/plugins/rate-limit/memory-store'
import { RedisRateLimitStore } from '../../src/plugins/rate-limit/redis-store'
import { startRedis } from '../support/redis'
import { runLoad } from './lib/load'
import { header, loadTable } from './lib/report'
import { startBenchServer } from './lib/server-process'

const WITH = { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_DEFAULT: '1000000000/60' }
const WITHOUT = { RATE_LIMIT_ENABLED: 'false', BENCH_IDEMPOTENCY: 'off' }

/** The same authenticated routes with and without the rate-limit and idempotency plugins. */
export async function benchTraffic(durationSec: number) {
  header(
    `Traffic plugins: the same routes with and without rate limiting + idempotency — wrk -t2 -c64 ${durationSec}s, alternating runs, best of 2`,
  )
  const rows = []
  const ratios: string[] = []
  for (const route of ['GET /api/status', 'PATCH /v1/account/me + unique Idempotency-Key'] as const) {
    const best: Record<string, number> = {}
    for (let round = 1; round <= 2; round++)
      for (const [label, env] of [
        ['without plugins', WITHOUT],
        ['with plugins', WITH],
      ] as const) {
        const server = await startBenchServer('app', {
          ...env,
          AUTH_JWT_SECRET: 'bench-secret-0123456789abcdef',
        })
        const patch = route.startsWith('PATCH')
        const token = patch ? await sessionFor(server.info.userId) : server.info.apiKey
        const result = await runLoad({
          url: `${server.url}${patch ? '/v1/account/me' : '/api/status'}`,
          method: patch ? 'PATCH' : 'GET',
          body: patch ? '{"display_name":"bench"}' : undefined,
          headers: {
            authorization: `Bearer ${token}`,
            ...(patch ? { 'content-type': 'application/json' } : {}),
          },
          uniqueHeader: patch && label === 'with plugins' ? 'Idempotency-Key' : undefined,
          durationSec,
        })
        rows.push({ name: `${route} — ${label} (run ${round})`, result, peakRssMiB: server.peakRssMiB() })
        best[label] = Math.max(best[label] ?? 0, result.rps)
        await server.stop()
      }
    const ratio = (best['with plugins'] as number) / (best['without plugins'] as number)
    ratios.push(
      `${route}: best with / best without = ${(ratio * 100).toFixed(1)}% (plugins cost ${(100 - ratio * 100).toFixed(1)}%)`,
    )
  }
  loadTable(rows)
  for (const r of ratios) console.log(r)

  header('Rate limiter hit() in isolation')
  const policy = { name: 'default' as const, limit: 1_000_000_000, windowMs: 60_000 }
  const memory = new MemoryRateLimitStore()
  const partitions = Array.from({ length: 1000 }, (_, i) => `user:${i}`)
  const n = 2_000_000
  let now = 1_800_000_000_000
  for (let i = 0; i < 100_000; i++) memory.hit(partitions[i % 1000] as string, policy, now)
  const start = Bun.nanoseconds()
  for (let i = 0; i < n; i++) memory.hit(partitions[i % 1000] as string, policy, now + i)
  now += n
  console.log(
    `memory store: ${((Bun.nanoseconds() - start) / n).toFixed(0)} ns/op (${n} hits over 1,000 partitions)`,
  )
  const redis = await startRedis()
  if (!redis) console.log('redis store: skipped (redis-server not installed)')
  else {
    const store = new RedisRateLimitStore(redis.url, { prefix: 'bench:', timeoutMs: 1000 })
    await store.ready()
    const m = 20_000
    const s = Bun.nanoseconds()
    for (let i = 0; i < m; i++) await store.hit(partitions[i % 1000] as string, policy, now + i)
    now += m
    const sequential = (Bun.nanoseconds() - s) / m
    const s2 = Bun.nanoseconds()
    await Promise.all(
      Array.from({ length: 32 }, async (_, w) => {
        for (let i = 0; i < m / 32; i++)
          await store.hit(partitions[(i + w) % 1000] as string, policy, now + i)
      }),
    )
    const pipelined = (Bun.nanoseconds() - s2) / m
    console.log(
      `redis store (loopback): ${(sequential / 1000).toFixed(1)} µs/op sequential, ${(pipelined / 1000).toFixed(1)} µs/op with 32 in flight`,
    )
    store.close()
    await redis.stop()
  }
}

async function sessionFor(userId: string): Promise<string> {
  const { SignJWT } = await import('jose')
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ email: 'bench@example.com', email_verified: true })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setAudience('authenticated')
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode('bench-secret-0123456789abcdef'))
}
