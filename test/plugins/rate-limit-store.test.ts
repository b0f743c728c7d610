import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { RatePolicy } from '../../src/config'
import { MemoryRateLimitStore } from '../../src/plugins/rate-limit/memory-store'
import { RedisRateLimitStore } from '../../src/plugins/rate-limit/redis-store'
import type { RateLimitStore } from '../../src/plugins/rate-limit/store'
import { startRedis } from '../support/redis'

const policy: RatePolicy = { name: 'default', limit: 5, windowMs: 60_000 }
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % 60_000)

/** The same behaviour, whichever store holds the counters. */
function storeContract(name: string, make: () => RateLimitStore) {
  describe(`${name} store`, () => {
    it('admits the limit, refuses the next with a usable wait, and recovers', async () => {
      const store = make()
      await store.ready?.()
      const p = `user:${crypto.randomUUID()}`
      const results = []
      for (let i = 0; i < 6; i++) results.push(await store.hit(p, policy, T0 + i))
      expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false])
      expect(results.map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0, 0])
      const wait = results[5]!.retryAfterMs
      expect(wait).toBeGreaterThan(0)
      expect((await store.hit(p, policy, T0 + 5 + Math.ceil(wait / 1000) * 1000)).allowed).toBe(true)
    })

    it('keeps partitions and policies apart', async () => {
      const store = make()
      await store.ready?.()
      const a = `user:${crypto.randomUUID()}`
      const b = `user:${crypto.randomUUID()}`
      for (let i = 0; i < 5; i++) await store.hit(a, policy, T0)
      expect((await store.hit(a, policy, T0)).allowed).toBe(false)
      expect((await store.hit(b, policy, T0)).allowed).toBe(true)
      expect((await store.hit(a, { ...policy, name: 'export' }, T0)).allowed).toBe(true)
    })

    it('never over-admits under concurrent hits', async () => {
      const store = make()
      await store.ready?.()
      const p = `user:${crypto.randomUUID()}`
      const results = await Promise.all(
        Array.from({ length: 40 }, () => store.hit(p, { ...policy, limit: 10 }, T0 + 30_000)),
      )
      expect(results.filter((r) => r.allowed)).toHaveLength(10)
    })
  })
}

storeContract('memory', () => new MemoryRateLimitStore())

describe('the memory store under a flood of partitions', () => {
  it('does not forget a limited partition when 100,000 new ones arrive', () => {
    const store = new MemoryRateLimitStore({ maxEntries: 10_000 })
    const victim = 'user:limited'
    for (let i = 0; i < 5; i++) store.hit(victim, policy, T0)
    expect(store.hit(victim, policy, T0).allowed).toBe(false)
    let refused = 0
    for (let i = 0; i < 100_000; i++)
      if (!store.hit(`ip:10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, policy, T0 + 1).allowed) refused++
    expect(store.hit(victim, policy, T0 + 2).allowed).toBe(false)
    expect(store.size).toBeLessThanOrEqual(10_001)
    expect(refused).toBe(100_000 - (10_000 - 1))
  })

  it('evicts only partitions whose windows have fully passed', () => {
    const store = new MemoryRateLimitStore({ maxEntries: 100 })
    for (let i = 0; i < 100; i++) store.hit(`ip:old-${i}`, policy, T0)
    // Two windows later the old ones are gone and newcomers fit again.
    expect(store.hit('ip:new', policy, T0 + 2 * policy.windowMs).allowed).toBe(true)
    expect(store.size).toBe(1)
  })
})

// Redis: a real redis-server on a free port. Outside CI a machine without the binary reports
// these tests as skipped (in bun's count); CI (.ci/run) installs it, so there they always run.
const redis = await startRedis()
if (!redis && process.env.CI) throw new Error('redis-server is required in CI (.ci/run installs it)')
describe.skipIf(!redis)('with a real redis-server (skipped where redis-server is not installed)', () => {
  const server = redis as NonNullable<typeof redis>
  let stores: RedisRateLimitStore[] = []
  beforeAll(() => {
    stores = []
  })
  afterAll(async () => {
    for (const s of stores) s.close()
    await server.stop()
  })
  storeContract('redis', () => {
    const s = new RedisRateLimitStore(server.url, { prefix: `test:${crypto.randomUUID()}:` })
    stores.push(s)
    return s
  })
  describe('the redis store', () => {
    it('shares one budget between two instances', async () => {
      const a = new RedisRateLimitStore(server.url, { prefix: 'shared:' })
      const b = new RedisRateLimitStore(server.url, { prefix: 'shared:' })
      stores.push(a, b)
      expect(await a.ready()).toBe(true)
      expect(await b.ready()).toBe(true)
      const p = `user:${crypto.randomUUID()}`
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).hit(p, policy, T0 + 100)),
      )
      expect(results.filter((r) => r.allowed)).toHaveLength(5)
    })
  })
})
