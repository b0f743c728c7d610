import { header } from './lib/report'
import { startBenchServer } from './lib/server-process'
import { startReaders, summarise } from './lib/timed-reads'

/**
 * Erasure of the heavy account (100,000 sandboxes, 10 full apps, 365 usage days, 100 keys) while
 * 16 clients keep reading other users' accounts: wall time of DELETE /api/account, and the read
 * latency during it beside a baseline without the erasure.
 */
export async function benchErasure() {
  // secure_delete ON is what the product runs; OFF and FAST are measured beside it for the choice.
  // PostgreSQL has no such setting (BENCH_STORE=postgres: one run, then VACUUM of the tables).
  const modes = process.env.BENCH_STORE === 'postgres' ? ['(PostgreSQL)'] : ['OFF', 'FAST', 'ON']
  for (const mode of modes) await benchErasureWith(mode)
}

async function benchErasureWith(secureDelete: string) {
  header(
    `Erasure of a heavy account while other users read (16 concurrent readers), secure_delete=${secureDelete}`,
  )
  const server = await startBenchServer('heavy', { BENCH_SECURE_DELETE: secureDelete })
  const targets = (server.info.neighbourKeys as string[]).flatMap((key) => [
    { url: `${server.url}/api/account`, headers: { authorization: `Bearer ${key}` } },
    { url: `${server.url}/api/status`, headers: { authorization: `Bearer ${key}` } },
  ])
  const baseline = startReaders(targets, 16)
  await Bun.sleep(3000)
  await baseline.stop()

  const during = startReaders(targets, 16)
  await Bun.sleep(500)
  const started = performance.now()
  const response = await fetch(`${server.url}/api/account`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${server.info.apiKey}` },
  })
  const ended = performance.now()
  await Bun.sleep(300)
  await during.stop()
  await server.stop()
  if (response.status !== 204) throw new Error(`erasure answered ${response.status}`)

  const rows = Object.values(server.info.rows as Record<string, number>).reduce((a, b) => a + b, 0)
  const overlap = summarise(during.samples.filter((s) => s.startedAt >= started && s.startedAt <= ended))
  const base = summarise(baseline.samples)
  console.log(
    `erasure: ${rows} rows in ${(ended - started).toFixed(0)} ms (${((rows / (ended - started)) * 1000).toFixed(0)} rows/s), answered ${response.status}`,
  )
  console.log('| reads of other accounts | requests | p50 ms | p99 ms | max ms | failed |')
  console.log('|---|---:|---:|---:|---:|---:|')
  console.log(
    `| baseline (no erasure) | ${base.n} | ${base.p50.toFixed(2)} | ${base.p99.toFixed(2)} | ${base.max.toFixed(1)} | ${base.failed} |`,
  )
  console.log(
    `| during the erasure | ${overlap.n} | ${overlap.p50.toFixed(2)} | ${overlap.p99.toFixed(2)} | ${overlap.max.toFixed(1)} | ${overlap.failed} |`,
  )
}
