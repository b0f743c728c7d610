import { header } from './lib/report'
import { type Contender, medianRatio, roundsTable, runRounds } from './lib/rounds'
import { startBenchServer } from './lib/server-process'

/**
 * Deploy of an app with every page configured, and a hosted privacy page against a bare
 * Bun.serve sending the same file with Bun.file, in BENCH_ROUNDS interleaved rounds (default 3).
 */
export async function benchHosting(durationSec: number) {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
  header(
    `Deploy (every page configured) and hosted privacy page vs bare Bun.serve of the same file — wrk -t2 -c64 ${durationSec}s × ${rounds} rounds`,
  )
  const hosted = await startBenchServer('hosted')
  const d = hosted.info.deployMs as Record<string, number>
  console.log(
    `deploy wall time over 20 deploys with a changed policy: min ${d.first?.toFixed(1)} ms, median ${d.median?.toFixed(1)} ms, max ${d.max?.toFixed(1)} ms; unchanged (no-op) ${d.noop?.toFixed(1)} ms`,
  )
  const bareServer = await startBenchServer('static', {}, [hosted.info.privacyFile])
  const bare: Contender = {
    name: 'bare: Bun.serve + Bun.file, same file',
    server: bareServer,
    url: bareServer.url,
    rounds: [],
  }
  const custodian: Contender = {
    name: 'Custodian /sites/<slug>/privacy',
    server: hosted,
    url: `${hosted.url}${hosted.info.privacyPath}`,
    rounds: [],
  }
  await runRounds([bare, custodian], durationSec, rounds)
  roundsTable([bare, custodian], bare)
  console.log(
    `hosting reaches ${(medianRatio(custodian, bare) * 100).toFixed(1)}% of the bare file server (median of same-round ratios)`,
  )
}
