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

async function measure(
  name: string,
  server: BenchServer,
  apiKey: string | null,
  durationSec: number,
): Promise<Row> {
  const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {}
  await runLoad({ url: `${server.url}/api/status`, durationSec: 2, headers }) // warm-up (JIT, caches)
  const cpuBefore = server.cpuMicros()
  const result = await runLoad({ url: `${server.url}/api/status`, durationSec, headers })
  const cpu = server.cpuMicros() - cpuBefore
  const row = {
    name,
    result,
    cpuMicrosPerRequest: cpu / Math.max(1, result.requests),
    peakRssMiB: server.peakRssMiB(),
  }
  await server.stop()
  return row
}

/**
 * Authenticated GET /api/status side by side in one run: a bare Bun.serve (the ceiling), the
 * honest floor (Elysia + SHA-256 + one prepared lookup), a Fastify + better-sqlite3 peer doing the
 * same lookup, and Custodian as it ships (rate limits on, request logs at info to a file).
 */
export async function benchStatus(durationSec: number) {
  header(`GET /api/status, authenticated — wrk -t2 -c64 ${durationSec}s, side by side`)
  const rows: Row[] = []
  rows.push(await measure('bare Bun.serve (same JSON)', await startBenchServer('bare'), null, durationSec))
  const floor = await startBenchServer('floor')
  const floorKey = floor.info.apiKey as string
  const floorDb = floor.info.databasePath as string
  const statusJson = JSON.stringify(floor.info.statusJson)
  rows.push(await measure('honest floor: Elysia + SHA-256 + 1 lookup', floor, floorKey, durationSec))
  if (await ensurePeerInstalled()) {
    const peer = await startServerProcess(['node', join(PEERS, 'fastify-status.mjs')], {
      DATABASE_PATH: floorDb,
      STATUS_JSON: statusJson,
    })
    rows.push(await measure('peer: Fastify (Node) + better-sqlite3', peer, floorKey, durationSec))
  } else console.log('(the Fastify peer could not be installed: its row is missing)')
  const logFile = join(mkdtempSync(join(tmpdir(), 'custodian-bench-log-')), 'requests.log')
  const app = await startBenchServer('app', {
    RATE_LIMIT_DEFAULT: '100000000/60',
    LOG_LEVEL: 'info',
    BENCH_LOG_FILE: logFile,
  })
  rows.push(
    await measure('Custodian (rate limits on, info logs to a file)', app, app.info.apiKey, durationSec),
  )

  const floorRps = rows[1]?.result.rps ?? Number.NaN
  console.log('| server | req/s | p50 ms | p99 ms | server CPU µs/req | × floor | peak RSS MiB |')
  console.log('|---|---:|---:|---:|---:|---:|---:|')
  for (const r of rows)
    console.log(
      `| ${r.name} | ${r.result.rps.toFixed(0)} | ${r.result.p50Ms.toFixed(2)} | ${r.result.p99Ms.toFixed(2)} | ${r.cpuMicrosPerRequest.toFixed(1)} | ${(r.result.rps / floorRps).toFixed(2)} | ${r.peakRssMiB.toFixed(0)} |`,
    )
  const custodian = rows.at(-1) as Row
  const peer = rows.find((r) => r.name.startsWith('peer'))
  if (peer) console.log(`Custodian / Fastify peer: ${(custodian.result.rps / peer.result.rps).toFixed(2)}×`)
  console.log(`Log lines written: ${(await Bun.file(logFile).text()).split('\n').length - 1}`)
}
