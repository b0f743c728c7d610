import { statfsSync } from 'node:fs'
import { Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client'
import type { Dependency, OutageMetrics } from './outages'
import { RequestMetrics } from './request-metrics'

/**
 * Custodian's Prometheus metrics (prom-client), one registry per app so tests and benchmarks
 * never share counters. Label values are bounded: route patterns (never raw paths), status codes,
 * policy names, deletion steps, Stripe error kinds.
 */
export class Metrics implements OutageMetrics {
  readonly registry = new Registry()
  private readonly requests = new RequestMetrics()
  private readonly rateLimited = new Counter({
    name: 'custodian_rate_limit_rejections_total',
    help: 'Requests refused with 429, by the policy that refused them',
    labelNames: ['policy'] as const,
    registers: [this.registry],
  })
  private readonly replays = new Counter({
    name: 'custodian_idempotent_replays_total',
    help: 'Requests answered from a stored Idempotency-Key response',
    registers: [this.registry],
  })
  private readonly deletions = new Counter({
    name: 'custodian_deletion_steps_total',
    help: 'Account deletions reaching each step (requested, billing_stopped, data_erased, incomplete, blocked_legal_hold, done, failed)',
    labelNames: ['step'] as const,
    registers: [this.registry],
  })
  private readonly stripeErrors = new Counter({
    name: 'custodian_stripe_errors_total',
    help: 'Failed Stripe calls, by kind (unavailable, refused, card)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  })

  private readonly dependencyUpGauge = new Gauge({
    name: 'custodian_dependency_up',
    help: 'Whether a service Custodian depends on answers (redis, database, storage): 1 up, 0 in an outage',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  })
  private readonly dependencyFailures = new Counter({
    name: 'custodian_dependency_failures_total',
    help: 'Requests that found a dependency unavailable (answered 503/507, or rate-limited locally)',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  })
  private readonly localFallbacks = new Counter({
    name: 'custodian_rate_limit_local_fallback_total',
    help: 'Requests counted in this instance’s memory because Redis did not answer in REDIS_TIMEOUT_MS',
    registers: [this.registry],
  })
  private readonly webhookDeliveries = new Counter({
    name: 'custodian_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by outcome (succeeded, retrying, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  private readonly overdueProcessors = new Gauge({
    name: 'custodian_erasure_acknowledgements_overdue',
    help: 'Processors that have not acknowledged an erasure within ERASURE_ACK_DEADLINE_DAYS',
    registers: [this.registry],
  })
  private readonly erasureStates = new Gauge({
    name: 'custodian_erasures',
    help: 'Erasures that need attention, by state: incomplete (the verification found something left; retried) or blocked_legal_hold',
    labelNames: ['state'] as const,
    registers: [this.registry],
  })
  /** Directories whose free space /metrics reports (the database's and STORAGE_DIR). */
  private readonly watchedDirectories = new Map<string, string>()

  webhookDelivery(outcome: 'succeeded' | 'retrying' | 'failed') {
    this.webhookDeliveries.inc({ outcome })
  }

  private readonly requestGauge = new Gauge({
    name: 'custodian_data_requests',
    help: 'Open data-subject requests past their deadline (overdue) or due within 7 days (due_7d)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  })

  dataRequests(counts: { overdue: number; dueWithin7Days: number }) {
    this.requestGauge.set({ state: 'overdue' }, counts.overdue)
    this.requestGauge.set({ state: 'due_7d' }, counts.dueWithin7Days)
  }

  erasuresNeedingAttention(counts: { incomplete: number; blocked_legal_hold: number }) {
    this.erasureStates.set({ state: 'incomplete' }, counts.incomplete)
    this.erasureStates.set({ state: 'blocked_legal_hold' }, counts.blocked_legal_hold)
  }

  erasureAcknowledgementsOverdue(count: number) {
    this.overdueProcessors.set(count)
  }

  constructor(options: { processMetrics?: boolean } = {}) {
    const directories = this.watchedDirectories
    new Gauge({
      name: 'custodian_disk_free_bytes',
      help: 'Free bytes (for an unprivileged user) on the filesystem of the database and of STORAGE_DIR',
      labelNames: ['directory'] as const,
      registers: [this.registry],
      collect() {
        for (const [name, path] of directories) {
          try {
            const stats = statfsSync(path)
            this.set({ directory: name }, stats.bavail * stats.bsize)
          } catch {
            // A directory that cannot be read reports nothing rather than a stale figure.
          }
        }
      },
    })
    // prom-client types registerMetric for its own classes; these render through the same get().
    this.registry.registerMetric(this.requests.requests as unknown as Metric)
    this.registry.registerMetric(this.requests.duration as unknown as Metric)
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry })
  }

  request(method: string, route: string, status: number, seconds: number) {
    this.requests.record(method, route, status, seconds)
  }
  rateLimitRejected(policy: string) {
    this.rateLimited.inc({ policy })
  }
  idempotentReplay() {
    this.replays.inc()
  }
  deletionStep(step: string) {
    this.deletions.inc({ step })
  }
  stripeError(kind: string) {
    this.stripeErrors.inc({ kind })
  }
  dependencyUp(dependency: Dependency, up: boolean) {
    this.dependencyUpGauge.set({ dependency }, up ? 1 : 0)
  }
  dependencyFailure(dependency: Dependency) {
    this.dependencyFailures.inc({ dependency })
  }
  rateLimitFallback() {
    this.localFallbacks.inc()
  }
  /** Reports the free space of `path`'s filesystem as `directory="name"`. */
  watchDiskSpace(name: string, path: string) {
    this.watchedDirectories.set(name, path)
  }

  contentType() {
    return this.registry.contentType
  }
  text(): Promise<string> {
    return this.registry.metrics()
  }
}
