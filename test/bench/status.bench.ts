import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type LoadResult, runLoad } from './lib/load'
import { header } from './lib/report'
import { type BenchServer, startBenchServer, startServerProcess } from './lib/server-process'

const PEERS = join(import.meta.dir, 'peers')

/** The peer's own dependencies (Fastify, better-sqlite3), installed once, on demand, with npm. */
async function ensurePeerInstalled() {
  if (await Bun.file(join(PEERS, 'node_modules/better-sqlite3/package.json')).exists()) return true
  console.log('(installing the Fastify peer: npm install in test/bench/peers — once)')
  const npm = Bun.spawn(['npm', 'install', '--no-audit', '--no-fund', '--silent'], {
    cwd: PEERS,
    stdout: 'inherit',
    stderr: 'inherit',
  })
  return (await npm.exited) === 0
}

interface Row {
  name: string
  result: LoadResult
  cpuMicrosPerRequest: number
  peakRssMiB: number
}

interface Contender {
  name: string
  server: BenchServer
  apiKey: string | null
  rounds: Row[]
}

/** One timed load on one server: throughput, latency and the server's CPU per request. */
async function measureOnce(c: Contender, durationSec: number): Promise<Row> {
  const headers: Record<string, string> = c.apiKey ? { authorization: `Bearer ${c.apiKey}` } : {}
  const cpuBefore = c.server.cpuMicros()
  const result = await runLoad({ url: `${c.server.url}/api/status`, durationSec, headers })
  const cpu = c.server.cpuMicros() - cpuBefore
  return {
    name: c.name,
    result,
    cpuMicrosPerRequest: cpu / Math.max(1, result.requests),
    peakRssMiB: c.server.peakRssMiB(),
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

/** The round whose throughput is the median of the server's rounds. */
function medianRound(rounds: Row[]): Row {
  const rps = median(rounds.map((r) => r.result.rps))
  return rounds.find((r) => r.result.rps === rps) as Row
}

/**
 * Authenticated GET /api/status side by side in one run: a bare Bun.serve (the ceiling), the
 * honest floor (Elysia + SHA-256 + one prepared lookup), a Fastify + better-sqlite3 peer doing the
 * same lookup, and Custodian as it ships (rate limits on, request logs at info to a file).
 * This machine's neighbours come and go: the servers take turns for BENCH_ROUNDS rounds (default
 * 3) and each row is the server's median round, so a noisy minute hurts every server alike.
 */
export async function benchStatus(durationSec: number) {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
  header(`GET /api/status, authenticated — wrk -t2 -c64 ${durationSec}s × ${rounds} rounds, side by side`)
  const contenders: Contender[] = []
  const add = (name: string, server: BenchServer, apiKey: string | null) =>
    contenders.push({ name, server, apiKey, rounds: [] })
  add('bare Bun.serve (same JSON)', await startBenchServer('bare'), null)
  const floor = await startBenchServer('floor')
  const floorKey = floor.info.apiKey as string
  const floorDb = floor.info.databasePath as string
  const statusJson = JSON.stringify(floor.info.statusJson)
  add('honest floor: Elysia + SHA-256 + 1 lookup', floor, floorKey)
  if (await ensurePeerInstalled()) {
    const peer = await startServerProcess(['node', join(PEERS, 'fastify-status.mjs')], {
      DATABASE_PATH: floorDb,
      STATUS_JSON: statusJson,
    })
    add('peer: Fastify (Node) + better-sqlite3', peer, floorKey)
  } else console.log('(the Fastify peer could not be installed: its row is missing)')
  const logFile = join(mkdtempSync(join(tmpdir(), 'custodian-bench-log-')), 'requests.log')
  const app = await startBenchServer('app', {
    RATE_LIMIT_DEFAULT: '100000000/60',
    LOG_LEVEL: 'info',
    BENCH_LOG_FILE: logFile,
  })
  add('Custodian (rate limits on, info logs to a file)', app, app.info.apiKey)

  for (const c of contenders) await measureOnce(c, 2) // warm-up (JIT, caches), not counted
  for (let round = 0; round < rounds; round++)
    for (const c of contenders) c.rounds.push(await measureOnce(c, durationSec))
  for (const c of contenders) await c.server.stop()

  const rows = contenders.map((c) => medianRound(c.rounds))
  const floorRps = rows[1]?.result.rps ?? Number.NaN
  console.log(
    '| server | req/s | p50 ms | p99 ms | server CPU µs/req | × floor | peak RSS MiB | req/s of each round |',
  )
  console.log('|---|---:|---:|---:|---:|---:|---:|---|')
  for (const [i, r] of rows.entries())
    console.log(
      `| ${r.name} | ${r.result.rps.toFixed(0)} | ${r.result.p50Ms.toFixed(2)} | ${r.result.p99Ms.toFixed(2)} | ${r.cpuMicrosPerRequest.toFixed(1)} | ${(r.result.rps / floorRps).toFixed(2)} | ${r.peakRssMiB.toFixed(0)} | ${contenders[i]?.rounds.map((x) => x.result.rps.toFixed(0)).join(', ')} |`,
    )
  const custodian = rows.at(-1) as Row
  const peer = rows.find((r) => r.name.startsWith('peer'))
  if (peer) console.log(`Custodian / Fastify peer: ${(custodian.result.rps / peer.result.rps).toFixed(2)}×`)
  console.log(`Log lines written: ${(await Bun.file(logFile).text()).split('\n').length - 1}`)
}
