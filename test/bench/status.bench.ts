import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { header } from './lib/report'
import { type Contender, medianRatio, roundsTable, runRounds } from './lib/rounds'
import { type BenchServer, startBenchServer, startServerProcess } from './lib/server-process'

const PEERS = join(import.meta.dir, 'peers')

/** The peers' own dependencies (Fastify, better-sqlite3, pg), installed once, on demand, with npm. */
async function ensurePeerInstalled() {
  if (await Bun.file(join(PEERS, 'node_modules/pg/package.json')).exists()) return true
  console.log('(installing the Fastify peer: npm install in test/bench/peers — once)')
  const npm = Bun.spawn(['npm', 'install', '--no-audit', '--no-fund', '--silent'], {
    cwd: PEERS,
    stdout: 'inherit',
    stderr: 'inherit',
  })
  return (await npm.exited) === 0
}

/**
 * Authenticated GET /api/status side by side in one run: a bare Bun.serve (the ceiling), the
 * honest floor (Elysia + SHA-256 + one prepared lookup), a Fastify + better-sqlite3 peer doing the
 * same lookup (with BENCH_STORE=postgres: floor and peer on PostgreSQL, Bun SQL and
 * node-postgres), and Custodian as it ships (rate limits on, request logs at info to a file). Each
 * row is the server's median of BENCH_ROUNDS interleaved rounds (default 3).
 */
export async function benchStatus(durationSec: number) {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
  header(`GET /api/status, authenticated — wrk -t2 -c64 ${durationSec}s × ${rounds} rounds, side by side`)
  const contenders: Contender[] = []
  const add = (name: string, server: BenchServer, apiKey: string | null) => {
    const c: Contender = {
      name,
      server,
      url: `${server.url}/api/status`,
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      rounds: [],
    }
    contenders.push(c)
    return c
  }
  add('bare Bun.serve (same JSON)', await startBenchServer('bare'), null)
  const floorServer = await startBenchServer('floor')
  const floorKey = floorServer.info.apiKey as string
  const floor = add('honest floor: Elysia + SHA-256 + 1 lookup', floorServer, floorKey)
  let peer: Contender | null = null
  if (await ensurePeerInstalled()) {
    // With BENCH_STORE=postgres the peer queries the floor's PostgreSQL database through pg.Pool.
    const databaseUrl = floorServer.info.databaseUrl as string | null
    const server = await startServerProcess(
      ['node', join(PEERS, databaseUrl ? 'fastify-status-pg.mjs' : 'fastify-status.mjs')],
      {
        DATABASE_PATH: floorServer.info.databasePath as string,
        ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
        STATUS_JSON: JSON.stringify(floorServer.info.statusJson),
      },
    )
    peer = add(
      databaseUrl ? 'peer: Fastify (Node) + node-postgres' : 'peer: Fastify (Node) + better-sqlite3',
      server,
      floorKey,
    )
  } else console.log('(the Fastify peer could not be installed: its row is missing)')
  const logFile = join(mkdtempSync(join(tmpdir(), 'custodian-bench-log-')), 'requests.log')
  const app = await startBenchServer('app', {
    RATE_LIMIT_DEFAULT: '100000000/60',
    LOG_LEVEL: 'info',
    BENCH_LOG_FILE: logFile,
  })
  const custodian = add('Custodian (rate limits on, info logs to a file)', app, app.info.apiKey)
  // BENCH_COMPARE_WITH=<another checkout> adds that checkout's Custodian, in the same rounds: a
  // change measured against the commit before it (`git worktree add /tmp/prev HEAD~1`).
  const other = process.env.BENCH_COMPARE_WITH
  if (other) {
    const before = await startServerProcess(
      ['bun', join(other, 'test/bench/lib/bench-server.ts'), 'app'],
      { RATE_LIMIT_DEFAULT: '100000000/60', LOG_LEVEL: 'info', BENCH_LOG_FILE: `${logFile}.compared` },
      'app',
    )
    add(`Custodian at ${other}`, before, before.info.apiKey as string)
  }

  await runRounds(contenders, durationSec, rounds)
  roundsTable(contenders, floor)
  console.log(`Custodian / floor, median of same-round ratios: ${medianRatio(custodian, floor).toFixed(2)}×`)
  if (peer)
    console.log(
      `Custodian / Fastify peer, median of same-round ratios: ${medianRatio(custodian, peer).toFixed(2)}×`,
    )
  console.log(`Log lines written: ${(await Bun.file(logFile).text()).split('\n').length - 1}`)
}
