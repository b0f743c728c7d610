import { runLoad } from './lib/load'
import { header, loadTable } from './lib/report'
import { startBenchServer } from './lib/server-process'

/** Deploy of an app with every page configured, and a hosted privacy page against a bare file server. */
export async function benchHosting(durationSec: number) {
  header(
    `Deploy (every page configured) and hosted privacy page vs bare Bun.serve of the same file — wrk -t2 -c64 ${durationSec}s`,
  )
  const hosted = await startBenchServer('hosted')
  const d = hosted.info.deployMs as Record<string, number>
  console.log(
    `deploy wall time over 20 deploys with a changed policy: min ${d.first?.toFixed(1)} ms, median ${d.median?.toFixed(1)} ms, max ${d.max?.toFixed(1)} ms; unchanged (no-op) ${d.noop?.toFixed(1)} ms`,
  )
  const hostedResult = await runLoad({ url: `${hosted.url}${hosted.info.privacyPath}`, durationSec })
  const hostedRss = hosted.peakRssMiB()
  await hosted.stop()
  const bare = await startBenchServer('static', {}, [hosted.info.privacyFile])
  const bareResult = await runLoad({ url: bare.url, durationSec })
  const bareRss = bare.peakRssMiB()
  await bare.stop()
  loadTable([
    { name: 'bare Bun.serve, same file', result: bareResult, peakRssMiB: bareRss },
    { name: 'custodian /sites/<slug>/privacy', result: hostedResult, peakRssMiB: hostedRss },
  ])
  console.log(
    `hosting reaches ${((hostedResult.rps / bareResult.rps) * 100).toFixed(1)}% of the bare file server`,
  )
}
