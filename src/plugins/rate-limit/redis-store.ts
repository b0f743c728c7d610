import { RedisClient } from 'bun'
import type { RatePolicy } from '../../config'
import { POLICY_NAMES } from '../../config'
import type { Outages } from '../../lib/outages'
import { MemoryRateLimitStore } from './memory-store'
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

export interface RedisStoreOptions {
  /** Longest a request waits for Redis (REDIS_TIMEOUT_MS). @default 50 */
  timeoutMs?: number
  /** Where outages are logged (once each) and reported to /readyz. */
  outages?: Outages
  /** Counts each request decided by the local window because Redis did not answer. */
  onFallback?: () => void
  /**
   * Turns a partition (`user:<id>`, `ip:<address>`) into the name stored in Redis: the keyed
   * pseudonym, so Redis never holds a user id or a client address. @default identity
   */
  pseudonym?: (partition: string) => string
  /** First wait between reconnection attempts; doubles up to 5 s. @default 250 */
  reconnectMs?: number
  prefix?: string
}

class RedisTimeout extends Error {
  override name = 'RedisTimeout'
}

/**
 * Redis with a policy for when it does not answer (docs/operations.md, "When a service it depends on fails"; docs/api-notes.md): no request waits for
 * it longer than `timeoutMs`. Past that — or at once while Redis is known to be down — the request
 * is counted in this instance's own memory window (limits then hold per instance), the outage is
 * logged once and shown on /readyz, and a background loop reconnects for as long as it takes.
 * Refusing every request (or answering 500) while a rate-limit store is away would turn a cache
 * outage into a full outage; admitting without any limit would drop the brute-force protection.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private client: RedisClient | null = null
  private sha: string | null = null
  private up = false
  private closed = false
  private reconnecting: Promise<void> | null = null
  private readonly firstAttempt: Promise<void>
  private readonly fallback = new MemoryRateLimitStore()
  private readonly timeoutMs: number
  private readonly prefix: string
  private readonly pseudonym: (partition: string) => string

  constructor(
    private readonly url: string,
    private readonly options: RedisStoreOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 50
    this.prefix = options.prefix ?? 'custodian:rl:'
    this.pseudonym = options.pseudonym ?? ((p) => p)
    // Not available (so not ready) until Redis has answered once.
    this.reconnect()
    this.firstAttempt = this.reconnecting ?? Promise.resolve()
  }

  /**
   * Resolves once Redis has answered, or after `waitMs` (the server starts anyway, counting
   * locally and reporting not ready): whether Redis is reachable.
   */
  async ready(waitMs = 3000): Promise<boolean> {
    await Promise.race([this.firstAttempt, Bun.sleep(waitMs)])
    return this.up
  }

  /** Whether the last command (or probe) reached Redis. */
  get available() {
    return this.up
  }

  hit(partition: string, policy: RatePolicy, now: number): Decision | Promise<Decision> {
    if (!this.up || !this.client) return this.local(partition, policy, now)
    const key = `${this.prefix}${policy.name}:${this.pseudonym(partition)}`
    return this.withTimeout(this.evaluate(this.client, key, policy, now)).then(
      (reply) => {
        const [allowed, windowStart, current, previous] = reply.map(Number) as [
          number,
          number,
          number,
          number,
        ]
        return outcome(allowed === 1, { windowStart, current, previous }, policy.limit, policy.windowMs, now)
      },
      (error) => {
        this.lost(error)
        return this.local(partition, policy, now)
      },
    )
  }

  /** Deletes every counter of `partition` (an erased account's), in every policy. */
  async forget(partition: string): Promise<void> {
    this.fallback.forget(partition)
    if (!this.up || !this.client) return
    const keys = POLICY_NAMES.map((name) => `${this.prefix}${name}:${this.pseudonym(partition)}`)
    await this.withTimeout(this.client.send('DEL', keys)).catch((error) => this.lost(error))
  }

  close() {
    this.closed = true
    this.client?.close()
  }

  private local(partition: string, policy: RatePolicy, now: number): Decision {
    this.options.outages?.failed('redis', 'unreachable')
    this.options.onFallback?.()
    return this.fallback.hit(partition, policy, now)
  }

  private async evaluate(client: RedisClient, key: string, policy: RatePolicy, now: number) {
    const args = [key, String(now), String(policy.windowMs), String(policy.limit)]
    try {
      this.sha ??= (await client.send('SCRIPT', ['LOAD', SCRIPT])) as string
      return (await client.send('EVALSHA', [this.sha, '1', ...args])) as number[]
    } catch (error) {
      if (!String(error).includes('NOSCRIPT')) throw error
      this.sha = null
      return (await client.send('EVAL', [SCRIPT, '1', ...args])) as number[]
    }
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisTimeout(`no answer in ${this.timeoutMs} ms`)), this.timeoutMs)
    })
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
  }

  /** A command failed or timed out: count locally from now on, and reconnect in the background. */
  private lost(error: unknown) {
    if (!this.up) return
    this.up = false
    this.options.outages?.failed('redis', error instanceof RedisTimeout ? error.message : describe(error))
    this.reconnect()
  }

  private reconnect() {
    if (this.reconnecting || this.closed) return
    this.reconnecting = this.reconnectLoop().finally(() => {
      this.reconnecting = null
    })
  }

  /**
   * A fresh client each attempt (a stalled connection is never reused), until one runs the
   * counting script: a PING would pass on a server that refuses writes (a read-only replica, out
   * of memory), and the store would flap between Redis and the local window on every request.
   */
  private async reconnectLoop() {
    let wait = this.options.reconnectMs ?? 250
    const probeKey = `${this.prefix}probe`
    while (!this.closed) {
      this.client?.close()
      const client = new RedisClient(this.url, {
        // Commands fail at once when disconnected; this loop, not the client, reconnects.
        autoReconnect: false,
        enableOfflineQueue: false,
        connectionTimeout: Math.max(1000, this.timeoutMs),
      })
      client.onclose = () => {
        if (this.client === client) this.lost(new Error('connection closed'))
      }
      this.client = client
      this.sha = null
      try {
        await Promise.race([
          client
            .connect()
            .then(() =>
              this.evaluate(client, probeKey, { name: 'default', limit: 1, windowMs: 1000 }, Date.now()),
            )
            .then(() => client.send('DEL', [probeKey])),
          new Promise((_, reject) =>
            setTimeout(() => reject(new RedisTimeout('no answer to the probe')), 2000),
          ),
        ])
        if (this.closed) return
        this.up = true
        this.options.outages?.recovered('redis')
        return
      } catch (error) {
        this.options.outages?.failed('redis', describe(error))
        await Bun.sleep(wait)
        wait = Math.min(wait * 2, 5000)
      }
    }
  }
}

/** An error's message without the URL (which may carry a password). */
function describe(error: unknown): string {
  return String((error as Error)?.message ?? error).replace(/rediss?:\/\/\S+/g, 'REDIS_URL')
}
