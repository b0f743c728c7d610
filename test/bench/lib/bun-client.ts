// Fallback load generator for machines without wrk: N concurrent keep-alive workers for D seconds.
import type { LoadOptions } from './load'

const o = JSON.parse(process.argv[2] as string) as LoadOptions
const latencies: number[] = []
let errors = 0
let non2xx = 0
let sent = 0
const end = performance.now() + (o.durationSec ?? 10) * 1000
async function worker() {
  while (performance.now() < end) {
    const start = performance.now()
    try {
      const rotate = o.rotateHeader
      const headers = {
        ...o.headers,
        ...(o.uniqueHeader ? { [o.uniqueHeader]: crypto.randomUUID() } : {}),
        ...(rotate
          ? { [rotate.name]: rotate.values[((rotate.offset ?? 0) + sent++) % rotate.values.length] as string }
          : {}),
      }
      const r = await fetch(o.url, { method: o.method ?? 'GET', headers, body: o.body })
      await r.arrayBuffer()
      if (r.status < 200 || r.status > 299) non2xx++
    } catch {
      errors++
    }
    latencies.push(performance.now() - start)
  }
}
const started = performance.now()
await Promise.all(Array.from({ length: o.connections ?? 64 }, worker))
const seconds = (performance.now() - started) / 1000
latencies.sort((a, b) => a - b)
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0
process.stdout.write(
  JSON.stringify({
    requests: latencies.length,
    rps: latencies.length / seconds,
    p50Ms: pct(50),
    p99Ms: pct(99),
    maxMs: latencies.at(-1) ?? 0,
    errors,
    non2xx,
  }),
)
