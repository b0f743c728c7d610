import { RedisClient } from 'bun'
import type { RatePolicy } from '../../config'
import { type Decision, outcome } from './sliding-window'
import type { RateLimitStore } from './store'

/**
 * The same sliding-window counter, kept in Redis for several instances. The roll-and-admit step
 * runs as one Lua script so two instances can never both take the last slot; the arithmetic
 * mirrors sliding-window.ts, and test/plugins/rate-limit-store.test.ts runs both stores through
 * the same cases.
 */
const SCRIPT = `
local now = tonumber(ARGV[1])
local w = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local data = redis.call('HMGET', KEYS[1], 's', 'c', 'p')
local s = tonumber(data[1])
local c = tonumber(data[2]) or 0
local p = tonumber(data[3]) or 0
local ws = now - (now % w)
if s == nil then s = ws; c = 0; p = 0
elseif s == ws then
elseif s == ws - w then p = c; c = 0; s = ws
else p = 0; c = 0; s = ws end
local allowed = 0
if p * (w - (now - s)) / w + c + 1 <= limit + 1e-9 then
  allowed = 1
  c = c + 1
  redis.call('HSET', KEYS[1], 's', s, 'c', c, 'p', p)
  redis.call('PEXPIRE', KEYS[1], 2 * w)
end
return {allowed, s, c, p}
`

export class RedisRateLimitStore implements RateLimitStore {
  private readonly client: RedisClient
  private sha: string | null = null

  constructor(
    url: string,
    private readonly prefix = 'custodian:rl:',
  ) {
    this.client = new RedisClient(url)
  }

  async hit(partition: string, policy: RatePolicy, now: number): Promise<Decision> {
    const key = `${this.prefix}${policy.name}:${partition}`
    const args = [key, String(now), String(policy.windowMs), String(policy.limit)]
    let reply: number[]
    try {
      this.sha ??= (await this.client.send('SCRIPT', ['LOAD', SCRIPT])) as string
      reply = (await this.client.send('EVALSHA', [this.sha, '1', ...args])) as number[]
    } catch (error) {
      if (!String(error).includes('NOSCRIPT')) throw error
      this.sha = null
      reply = (await this.client.send('EVAL', [SCRIPT, '1', ...args])) as number[]
    }
    const [allowed, windowStart, current, previous] = reply.map(Number) as [number, number, number, number]
    return outcome(allowed === 1, { windowStart, current, previous }, policy.limit, policy.windowMs, now)
  }

  close() {
    this.client.close()
  }
}
