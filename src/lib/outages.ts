import type { Logger } from './logger'

/** The services a request can find unavailable. */
export type Dependency = 'redis' | 'database' | 'storage'

export interface Outage {
  /** When the episode began (epoch ms). */
  since: number
  /** Failures (refused requests, fallbacks) counted during the episode. */
  count: number
  /** The first failure's cause, without secrets. */
  reason: string
}

export interface OutageMetrics {
  dependencyUp(dependency: Dependency, up: boolean): void
  dependencyFailure(dependency: Dependency): void
}

/**
 * Episodes of a dependency being unavailable (Redis unreachable, PostgreSQL down, a full disk).
 * An outage is logged once when it begins and once when it ends, with how many requests it
 * touched — never once per request (a 6-s PostgreSQL outage used to write ~15,000 stack traces).
 * /readyz reports the open episodes.
 */
export class Outages {
  private readonly open = new Map<Dependency, Outage>()
  private readonly probes = new Map<
    Dependency,
    { probe: () => Promise<boolean> | boolean; intervalMs: number }
  >()
  private readonly timers = new Map<Dependency, ReturnType<typeof setInterval>>()

  constructor(
    private readonly logger: Logger,
    private readonly metrics?: OutageMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one failure; the first of an episode opens it and logs one line. */
  failed(dependency: Dependency, reason: string) {
    this.metrics?.dependencyFailure(dependency)
    const episode = this.open.get(dependency)
    if (episode) {
      episode.count++
      return
    }
    this.open.set(dependency, { since: this.now(), count: 1, reason })
    this.metrics?.dependencyUp(dependency, false)
    this.logger.error(`${dependency} unavailable`, { dependency, reason })
    this.startProbing(dependency)
  }

  /**
   * While `dependency` is out, `probe` runs every `intervalMs` and closes the episode once it
   * answers true: recovery is noticed without waiting for a request to succeed.
   */
  watch(dependency: Dependency, probe: () => Promise<boolean> | boolean, intervalMs = 1000) {
    this.probes.set(dependency, { probe, intervalMs })
  }

  private startProbing(dependency: Dependency) {
    const watched = this.probes.get(dependency)
    if (!watched || this.timers.has(dependency)) return
    const { probe, intervalMs } = watched
    let running = false
    const timer = setInterval(async () => {
      if (running) return
      running = true
      try {
        if (await probe()) this.recovered(dependency)
      } catch {
        // Still out: the next tick tries again.
      } finally {
        running = false
      }
    }, intervalMs)
    timer.unref?.()
    this.timers.set(dependency, timer)
  }

  /** Stops the probes (server shutdown, tests). */
  stop() {
    for (const timer of this.timers.values()) clearInterval(timer)
    this.timers.clear()
  }

  /** Closes the dependency's episode, if one is open, with one line saying what it cost. */
  recovered(dependency: Dependency) {
    const episode = this.open.get(dependency)
    if (!episode) return
    this.open.delete(dependency)
    const timer = this.timers.get(dependency)
    if (timer) clearInterval(timer)
    this.timers.delete(dependency)
    this.metrics?.dependencyUp(dependency, true)
    this.logger.warn(`${dependency} available again`, {
      dependency,
      reason: episode.reason,
      failures: episode.count,
      seconds: Math.round((this.now() - episode.since) / 100) / 10,
    })
  }

  current(dependency: Dependency): Outage | null {
    return this.open.get(dependency) ?? null
  }
}
