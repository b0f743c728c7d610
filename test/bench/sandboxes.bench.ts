import { runLoad } from './lib/load'
import { header, loadTable } from './lib/report'
import { startBenchServer } from './lib/server-process'

const LIST_SIZE = 100_000

/**
 * Sandbox creates through the whole pipeline (auth, required Idempotency-Key, quota checks and the
 * charge in one write transaction), then list latency on a team holding 100,000 sandboxes.
 */
export async function benchSandboxes(durationSec: number) {
  await benchSandboxCreates(durationSec)
  await benchSandboxList(durationSec)
}

/** Creates only (`bun run bench creates`): one client, 32 on one team, 32 over 32 teams (and three instances on PostgreSQL). */
export async function benchSandboxCreates(durationSec: number) {
  header(
    `POST /v1/sandboxes with quota checks — wrk, unique Idempotency-Key per request, ${durationSec}s each`,
  )
  const rows = []
  for (const [label, connections, threads, teams] of [
    ['sequential (1 client)', 1, 1, 1],
    ['32 concurrent clients', 32, 2, 1],
    ['32 concurrent clients over 32 teams', 32, 2, 32],
  ] as const) {
    const server = await startBenchServer('sandboxes', {}, ['0'])
    const result = await runLoad({
      url: `${server.url}/v1/sandboxes`,
      method: 'POST',
      body: '{"template":"base","memory_mb":512,"metadata":{"job":"bench"}}',
      headers: { authorization: `Bearer ${server.info.runtimeKey}`, 'content-type': 'application/json' },
      uniqueHeader: 'Idempotency-Key',
      ...(teams > 1 ? { rotateHeader: teamKeysHeader(server.info.teamKeys as string[]) } : {}),
      connections,
      threads,
      durationSec,
    })
    rows.push({ name: `create — ${label}`, result, peakRssMiB: server.peakRssMiB() })
    await server.stop()
  }
  // With BENCH_STORE=postgres, the same 32 clients spread over three instances on one database.
  if (process.env.BENCH_STORE === 'postgres') {
    rows.push(await createsOnThreeInstances(durationSec, 1))
    rows.push(await createsOnThreeInstances(durationSec, 32))
  }
  loadTable(rows)
}

async function benchSandboxList(durationSec: number) {
  header(
    `GET /v1/sandboxes on a team with ${LIST_SIZE.toLocaleString('en')} sandboxes (1% running, 1% paused) — one client (latency), then 32, ${durationSec}s each`,
  )
  const server = await startBenchServer('sandboxes', {}, [String(LIST_SIZE)])
  const auth = { authorization: `Bearer ${server.info.runtimeKey}` }
  const targets = [
    ['bare list (live sandboxes, up to 1,000)', '/v1/sandboxes'],
    ['first page, limit=100', '/v1/sandboxes?limit=100'],
    [
      'page at the 50,000th sandbox, limit=100',
      `/v1/sandboxes?limit=100&next_token=${server.info.middleToken}`,
    ],
    ['state=running, limit=100', '/v1/sandboxes?state=running&limit=100'],
    ['template=python, limit=100', '/v1/sandboxes?template=python&limit=100'],
    [
      'metadata={"job":"j-99999"} (one match)',
      `/v1/sandboxes?metadata=${encodeURIComponent('{"job":"j-99999"}')}`,
    ],
  ] as const
  const listRows = []
  for (const [name, path] of targets) {
    const result = await runLoad({
      url: `${server.url}${path}`,
      headers: auth,
      connections: 1,
      threads: 1,
      durationSec,
    })
    listRows.push({ name, result, peakRssMiB: server.peakRssMiB() })
  }
  const busy = await runLoad({
    url: `${server.url}/v1/sandboxes?limit=100`,
    headers: auth,
    connections: 32,
    durationSec,
  })
  listRows.push({
    name: 'first page, limit=100 — 32 concurrent clients',
    result: busy,
    peakRssMiB: server.peakRssMiB(),
  })
  await server.stop()
  loadTable(listRows)
}

/**
 * 32 clients creating sandboxes through three instances on one PostgreSQL database (11, 11 and 10
 * clients, one wrk each, run at once; 4 database connections each): requests and throughput summed, the worst p50 and p99.
 */
async function createsOnThreeInstances(durationSec: number, teams: 1 | 32) {
  // The database's connections as for one instance (10): 4 each. More only queue inside
  // PostgreSQL on this machine (docs/operations.md, DATABASE_POOL_SIZE).
  const pool = { DATABASE_POOL_SIZE: '4' }
  const first = await startBenchServer('sandboxes', pool, ['0'])
  const others = await Promise.all(
    [0, 1].map(() => startBenchServer('instance', { ...pool, BENCH_DATABASE_URL: first.info.databaseUrl })),
  )
  const servers = [first, ...others]
  try {
    const results = await Promise.all(
      servers.map((server, i) =>
        runLoad({
          url: `${server.url}/v1/sandboxes`,
          method: 'POST',
          body: '{"template":"base","memory_mb":512,"metadata":{"job":"bench"}}',
          headers: { authorization: `Bearer ${first.info.runtimeKey}`, 'content-type': 'application/json' },
          uniqueHeader: 'Idempotency-Key',
          // Each instance's clients start on their own teams (0, 11, 22).
          ...(teams > 1
            ? { rotateHeader: { ...teamKeysHeader(first.info.teamKeys as string[]), offset: i * 11 } }
            : {}),
          connections: i === 2 ? 10 : 11,
          threads: 1,
          durationSec,
        }),
      ),
    )
    const sum = (pick: (r: (typeof results)[number]) => number) => results.reduce((n, r) => n + pick(r), 0)
    const max = (pick: (r: (typeof results)[number]) => number) => Math.max(...results.map(pick))
    const result = {
      ...(results[0] as (typeof results)[number]),
      requests: sum((r) => r.requests),
      rps: sum((r) => r.rps),
      errors: sum((r) => r.errors),
      non2xx: sum((r) => r.non2xx),
      p50Ms: max((r) => r.p50Ms),
      p99Ms: max((r) => r.p99Ms),
      maxMs: max((r) => r.maxMs),
    }
    return {
      name: `create — 32 concurrent clients over 3 instances${teams > 1 ? ', 32 teams' : ''}`,
      result,
      peakRssMiB: Math.max(...servers.map((s) => s.peakRssMiB())),
    }
  } finally {
    for (const server of others) await server.stop()
    await first.stop()
  }
}

/** Each request as one of 32 teams in turn (their quotas are rows of their own). */
const teamKeysHeader = (keys: string[]) => ({ name: 'authorization', values: keys.map((k) => `Bearer ${k}`) })
