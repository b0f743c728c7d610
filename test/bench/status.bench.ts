import { runLoad } from './lib/load'
import { header, loadTable } from './lib/report'
import { startBenchServer } from './lib/server-process'

/** Authenticated GET /api/status vs a bare Bun.serve answering the same JSON, one run. */
export async function benchStatus(durationSec: number) {
  header(`GET /api/status (authenticated ok_ key) vs bare Bun.serve — wrk -t2 -c64 ${durationSec}s`)
  const bare = await startBenchServer('bare')
  const bareResult = await runLoad({ url: `${bare.url}/api/status`, durationSec })
  const bareRss = bare.peakRssMiB()
  await bare.stop()
  const app = await startBenchServer('app', { RATE_LIMIT_ENABLED: 'false' })
  const appResult = await runLoad({
    url: `${app.url}/api/status`,
    durationSec,
    headers: { authorization: `Bearer ${app.info.apiKey}` },
  })
  const appRss = app.peakRssMiB()
  await app.stop()
  loadTable([
    { name: 'bare Bun.serve', result: bareResult, peakRssMiB: bareRss },
    { name: 'custodian /api/status', result: appResult, peakRssMiB: appRss },
  ])
  console.log(
    `custodian reaches ${((appResult.rps / bareResult.rps) * 100).toFixed(1)}% of the bare server's throughput`,
  )
}
