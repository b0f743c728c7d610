/**
 * The two per-request metrics (requests by method, route and status; duration by method and
 * route) kept as plain numbers and handed to prom-client's registry only when scraped. Through
 * prom-client's own Counter and Histogram every request paid for hashing its label set twice and
 * walking the histogram's objects (~1.5 µs of a ~20 µs request). The output is the same text.
 */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]

interface Series {
  method: string
  route: string
  byStatus: Map<number, number>
  /** Per bucket (not yet cumulative), then +Inf. */
  buckets: Float64Array
  sum: number
  count: number
}

interface MetricValue {
  labels: Record<string, string | number>
  value: number
  metricName?: string
}

/** What prom-client's Registry asks of a metric it renders. */
interface RegistryMetric {
  name: string
  help: string
  type: 'counter' | 'histogram'
  aggregator: 'sum'
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }>
  reset(): void
}

export class RequestMetrics {
  private readonly series = new Map<string, Series>()

  record(method: string, route: string, status: number, seconds: number) {
    const key = `${method} ${route}`
    let s = this.series.get(key)
    if (!s) {
      s = {
        method,
        route,
        byStatus: new Map(),
        buckets: new Float64Array(BUCKETS.length + 1),
        sum: 0,
        count: 0,
      }
      this.series.set(key, s)
    }
    s.byStatus.set(status, (s.byStatus.get(status) ?? 0) + 1)
    let bucket = 0
    while (bucket < BUCKETS.length && seconds > (BUCKETS[bucket] as number)) bucket++
    s.buckets[bucket] = (s.buckets[bucket] as number) + 1
    s.sum += seconds
    s.count++
  }

  /** `custodian_http_requests_total`, for Registry.registerMetric. */
  readonly requests: RegistryMetric = this.metric(
    'custodian_http_requests_total',
    'HTTP requests answered, by method, route pattern and status',
    'counter',
    () => {
      const values: MetricValue[] = []
      for (const s of this.series.values())
        for (const [status, value] of s.byStatus)
          values.push({ labels: { method: s.method, route: s.route, status }, value })
      return values
    },
  )

  /** `custodian_http_request_duration_seconds`, for Registry.registerMetric. */
  readonly duration: RegistryMetric = this.metric(
    'custodian_http_request_duration_seconds',
    'Time from receiving a request to finishing its answer, by method and route pattern',
    'histogram',
    () => {
      const name = 'custodian_http_request_duration_seconds'
      const values: MetricValue[] = []
      for (const s of this.series.values()) {
        const labels = { method: s.method, route: s.route }
        let cumulative = 0
        for (const [i, le] of [...BUCKETS, '+Inf' as const].entries()) {
          cumulative += s.buckets[i] as number
          values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` })
        }
        values.push({ labels, value: s.sum, metricName: `${name}_sum` })
        values.push({ labels, value: s.count, metricName: `${name}_count` })
      }
      return values
    },
  )

  private metric(
    name: string,
    help: string,
    type: RegistryMetric['type'],
    values: () => MetricValue[],
  ): RegistryMetric {
    return {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
      reset: () => this.series.clear(),
    }
  }
}
