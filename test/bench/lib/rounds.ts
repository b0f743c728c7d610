import { type LoadResult, runLoad } from './load'
import type { BenchServer } from './server-process'

/** One server in a side-by-side benchmark, and what each of its rounds measured. */
export interface Contender {
  name: string
  server: BenchServer
  /** The URL loaded (the server's base URL plus a path). */
  url: string
  headers?: Record<string, string>
  /** For a request with a body (default GET without one). */
  method?: string
  body?: string
  rounds: RoundResult[]
}

export interface RoundResult {
  result: LoadResult
  cpuMicrosPerRequest: number
  peakRssMiB: number
}

async function measureOnce(c: Contender, durationSec: number): Promise<RoundResult> {
  const cpuBefore = c.server.cpuMicros()
  const result = await runLoad({
    url: c.url,
    durationSec,
    headers: c.headers,
    method: c.method,
    body: c.body,
  })
  const cpu = c.server.cpuMicros() - cpuBefore
  return {
    result,
    cpuMicrosPerRequest: cpu / Math.max(1, result.requests),
    peakRssMiB: c.server.peakRssMiB(),
  }
}

/**
 * This machine's neighbours come and go: the servers take turns for `rounds` rounds after a
 * 2-second warm-up each (JIT, caches), so a noisy minute hurts every server alike. Stops them.
 */
export async function runRounds(contenders: Contender[], durationSec: number, rounds: number) {
  for (const c of contenders) await measureOnce(c, 2)
  for (let round = 0; round < rounds; round++)
    for (const c of contenders) c.rounds.push(await measureOnce(c, durationSec))
  for (const c of contenders) await c.server.stop()
}

/** The round whose throughput is the median of the contender's rounds. */
export function medianRound(c: Contender): RoundResult {
  const sorted = [...c.rounds].sort((a, b) => a.result.rps - b.result.rps)
  return sorted[Math.floor(sorted.length / 2)] as RoundResult
}

/** The median over rounds of a/b throughput measured in the same round. */
export function medianRatio(a: Contender, b: Contender): number {
  const ratios = a.rounds.map(
    (r, i) => r.result.rps / ((b.rounds[i] as RoundResult).result.rps || Number.NaN),
  )
  ratios.sort((x, y) => x - y)
  return ratios[Math.floor(ratios.length / 2)] as number
}

/** A table row per contender: its median round, its CPU per request, every round's req/s. */
export function roundsTable(contenders: Contender[], base: Contender) {
  const baseRps = medianRound(base).result.rps
  console.log(
    `| server | req/s | p50 ms | p99 ms | server CPU µs/req | × ${base.name.split(':')[0]} | peak RSS MiB | req/s of each round |`,
  )
  console.log('|---|---:|---:|---:|---:|---:|---:|---|')
  for (const c of contenders) {
    const r = medianRound(c)
    console.log(
      `| ${c.name} | ${r.result.rps.toFixed(0)} | ${r.result.p50Ms.toFixed(2)} | ${r.result.p99Ms.toFixed(2)} | ${r.cpuMicrosPerRequest.toFixed(1)} | ${(r.result.rps / baseRps).toFixed(2)} | ${r.peakRssMiB.toFixed(0)} | ${c.rounds.map((x) => x.result.rps.toFixed(0)).join(', ')} |`,
    )
  }
}
