import { runLoad } from './lib/load'
import { header, loadTable } from './lib/report'
import { startBenchServer } from './lib/server-process'

const LIST_SIZE = 100_000

/**
 * Sandbox creates through the whole pipeline (auth, required Idempotency-Key, quota checks and the
 * charge in one write transaction), then list latency on a team holding 100,000 sandboxes.
 */
export async function benchSandboxes(durationSec: number) {
  header(
    `POST /v1/sandboxes with quota checks — wrk, unique Idempotency-Key per request, ${durationSec}s each`,
  )
  const rows = []
  for (const [label, connections, threads] of [
    ['sequential (1 client)', 1, 1],
    ['32 concurrent clients', 32, 2],
  ] as const) {
    const server = await startBenchServer('sandboxes', {}, ['0'])
    const result = await runLoad({
      url: `${server.url}/v1/sandboxes`,
      method: 'POST',
      body: '{"template":"base","memory_mb":512,"metadata":{"job":"bench"}}',
      headers: { authorization: `Bearer ${server.info.runtimeKey}`, 'content-type': 'application/json' },
      uniqueHeader: 'Idempotency-Key',
      connections,
      threads,
      durationSec,
    })
    rows.push({ name: `create — ${label}`, result, peakRssMiB: server.peakRssMiB() })
    await server.stop()
  }
  loadTable(rows)

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
