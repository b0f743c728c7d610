import { header } from './lib/report'
import { startBenchServer } from './lib/server-process'

/**
 * Export of the heavy account over HTTP (streamed, discarded as it arrives) against the floor:
 * the same rows read with one SELECT per table and JSON.stringify-ed into one buffer.
 */
export async function benchExport() {
  header('Export of a heavy account: 10 full apps, 100,000 sandboxes, 365 usage days, 100 keys')
  const server = await startBenchServer('heavy')
  console.log(`seeded rows: ${JSON.stringify(server.info.rows)}`)
  const rows: string[] = []
  for (const dialect of ['api', 'v1'] as const) {
    for (let round = 1; round <= 2; round++) {
      await Bun.sleep(200)
      const idle = server.rssMiB()
      server.resetPeak()
      const start = performance.now()
      const response = await fetch(`${server.url}/${dialect === 'api' ? 'api' : 'v1'}/account/export`, {
        headers: {
          authorization: `Bearer ${dialect === 'api' ? server.info.apiKey : await session(server.info.userId)}`,
        },
      })
      if (response.status !== 200)
        throw new Error(`export answered ${response.status}: ${await response.text()}`)
      let bytes = 0
      let firstByteMs = 0
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        if (!bytes) firstByteMs = performance.now() - start
        bytes += chunk.byteLength
      }
      const ms = performance.now() - start
      const growth = server.peakRssMiB() - idle
      rows.push(
        `| /${dialect} export (run ${round}) | ${ms.toFixed(0)} | ${firstByteMs.toFixed(1)} | ${(bytes / 1048576).toFixed(1)} | ${(bytes / 1048576 / (ms / 1000)).toFixed(1)} | ${growth.toFixed(1)} |`,
      )
    }
  }
  await server.stop()
  // The floor reads the SQLite file directly: measured beside a SQLite run only.
  if (process.env.BENCH_STORE !== 'postgres') {
    const floor = await startBenchServer('export-floor', {}, [server.info.databasePath, server.info.userId])
    rows.push(
      `| floor: one SELECT per table + JSON.stringify | ${floor.info.ms.toFixed(0)} | - | ${(floor.info.bytes / 1048576).toFixed(1)} | ${(floor.info.bytes / 1048576 / (floor.info.ms / 1000)).toFixed(1)} | ${floor.info.rssGrowthMiB.toFixed(1)} |`,
    )
    await floor.stop()
  }
  console.log('| target | wall ms | first byte ms | MB | MB/s | peak RSS growth MiB |')
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const r of rows) console.log(r)
}

async function session(userId: string): Promise<string> {
  const { SignJWT } = await import('jose')
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ email: 'heavy@example.com', email_verified: true })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setAudience('authenticated')
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(process.env.BENCH_JWT_SECRET as string))
}
