import { Counter, collectDefaultMetrics, type Metric, Registry } from 'prom-client'
import { RequestMetrics } from './request-metrics'

/**
 * Custodian's Prometheus metrics (prom-client), one registry per app so tests and benchmarks
 * never share counters. Label values are bounded: route patterns (never raw paths), status codes,
 * policy names, deletion steps, Stripe error kinds.
 */
export class Metrics {
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

  contentType() {
    return this.registry.contentType
  }
  text(): Promise<string> {
    return this.registry.metrics()
  }
}
