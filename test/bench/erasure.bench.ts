import { header } from './lib/report'
import { startBenchServer } from './lib/server-process'
import { startReaders, startWriters, summarise } from './lib/timed-reads'

/**
 * Erasure of the heavy account (100,000 sandboxes, 10 full apps, 365 usage days, 100 keys) while
 * 16 clients keep reading other users' accounts and 8 keep writing for them (an app created, then
 * deleted): wall time of DELETE /api/account, and the latencies during it beside a baseline
 * without the erasure.
 */
export async function benchErasure() {
  // secure_delete ON is what the product runs; OFF and FAST are measured beside it for the choice.
  // PostgreSQL has no such setting (BENCH_STORE=postgres: one run, then VACUUM of the tables).
  const modes = process.env.BENCH_STORE === 'postgres' ? ['(PostgreSQL)'] : ['OFF', 'FAST', 'ON']
  for (const mode of modes) await benchErasureWith(mode)
}

async function benchErasureWith(secureDelete: string) {
  header(
    `Erasure of a heavy account while other users read (16 clients) and write (8), secure_delete=${secureDelete}`,
  )
  const server = await startBenchServer('heavy', { BENCH_SECURE_DELETE: secureDelete })
  const targets = (server.info.neighbourKeys as string[]).flatMap((key) => [
    { url: `${server.url}/api/account`, headers: { authorization: `Bearer ${key}` } },
    { url: `${server.url}/api/status`, headers: { authorization: `Bearer ${key}` } },
  ])
  const neighbours = server.info.neighbourKeys as string[]
  // A fresh server's first seconds (JIT, pool connections, plan caches) are not the baseline.
  const warmUp = [startReaders(targets, 16), startWriters(server.url, neighbours, 8)]
  await Bun.sleep(2000)
  await Promise.all(warmUp.map((load) => load.stop()))
  const baseline = startReaders(targets, 16)
  const baselineWrites = startWriters(server.url, neighbours, 8)
  await Bun.sleep(3000)
  await baseline.stop()
  await baselineWrites.stop()

  const during = startReaders(targets, 16)
  const duringWrites = startWriters(server.url, neighbours, 8)
  await Bun.sleep(500)
  const started = performance.now()
  const response = await fetch(`${server.url}/api/account`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${server.info.apiKey}` },
  })
  const ended = performance.now()
  await Bun.sleep(300)
  await during.stop()
  await duringWrites.stop()
  await server.stop()
  if (response.status !== 204) throw new Error(`erasure answered ${response.status}`)

  const rows = Object.values(server.info.rows as Record<string, number>).reduce((a, b) => a + b, 0)
  const inErasure = (samples: typeof during.samples) =>
    samples.filter((s) => s.startedAt >= started && s.startedAt <= ended)
  const overlap = summarise(inErasure(during.samples))
  const base = summarise(baseline.samples)
  const writesOverlap = summarise(inErasure(duringWrites.samples))
  const writesBase = summarise(baselineWrites.samples)
  console.log(
    `erasure: ${rows} rows in ${(ended - started).toFixed(0)} ms (${((rows / (ended - started)) * 1000).toFixed(0)} rows/s), answered ${response.status}`,
  )
  console.log('| requests of other accounts | requests | p50 ms | p99 ms | max ms | failed |')
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const [name, r] of [
    ['reads, baseline (no erasure)', base],
    ['reads, during the erasure', overlap],
    ['writes, baseline (no erasure)', writesBase],
    ['writes, during the erasure', writesOverlap],
  ] as const)
    console.log(
      `| ${name} | ${r.n} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(1)} | ${r.failed} |`,
    )
}
