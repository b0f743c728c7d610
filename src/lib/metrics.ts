import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'

/**
 * Custodian's Prometheus metrics (prom-client), one registry per app so tests and benchmarks
 * never share counters. Label values are bounded: route patterns (never raw paths), status codes,
 * policy names, deletion steps, Stripe error kinds.
 */
export class Metrics {
  readonly registry = new Registry()
  private readonly requests = new Counter({
    name: 'custodian_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  })
  private readonly latency = new Histogram({
    name: 'custodian_http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its answer, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  })
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
    help: 'Account deletions reaching each step (requested, billing_stopped, data_erased, done, failed)',
    labelNames: ['step'] as const,
    registers: [this.registry],
  })
  private readonly stripeErrors = new Counter({
    name: 'custodian_stripe_errors_total',
    help: 'Failed Stripe calls, by kind (unavailable, refused, card)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  })

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry })
  }

  // prom-client hashes the label set on every call; the children of each label set are kept
  // instead (route patterns are bounded, so the maps are too).
  private readonly requestCounters = new Map<string, { inc(): void }>()
  private readonly latencyObservers = new Map<string, { observe(value: number): void }>()

  request(method: string, route: string, status: number, seconds: number) {
    const key = `${method} ${route}`
    const counterKey = `${key} ${status}`
    let counter = this.requestCounters.get(counterKey)
    if (!counter) {
      counter = this.requests.labels({ method, route, status: String(status) })
      this.requestCounters.set(counterKey, counter)
    }
    counter.inc()
    let observer = this.latencyObservers.get(key)
    if (!observer) {
      observer = this.latency.labels({ method, route })
      this.latencyObservers.set(key, observer)
    }
    observer.observe(seconds)
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

  contentType() {
    return this.registry.contentType
  }
  text(): Promise<string> {
    return this.registry.metrics()
  }
}
