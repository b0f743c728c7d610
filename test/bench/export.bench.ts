import { header } from './lib/report'
import { startBenchServer } from './lib/server-process'

/**
 * Export of the heavy account over HTTP (streamed, discarded as it arrives) against the floor:
 * the same rows read with one SELECT per table and JSON.stringify-ed into one buffer.
 */
export async function benchExport() {
  await benchStreamingExport()
  await benchArchives()
}

async function benchStreamingExport() {
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
  // The floor reads the SQLite file directly, while the (idle) server still holds it: its scratch
  // directory goes when it stops. Measured beside a SQLite run only.
  if (process.env.BENCH_STORE !== 'postgres') {
    const floor = await startBenchServer('export-floor', {}, [server.info.databasePath, server.info.userId])
    rows.push(
      `| floor: one SELECT per table + JSON.stringify | ${floor.info.ms.toFixed(0)} | - | ${(floor.info.bytes / 1048576).toFixed(1)} | ${(floor.info.bytes / 1048576 / (floor.info.ms / 1000)).toFixed(1)} | ${floor.info.rssGrowthMiB.toFixed(1)} |`,
    )
    await floor.stop()
  }
  await server.stop()
  console.log('| target | wall ms | first byte ms | MB | MB/s | peak RSS growth MiB |')
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const r of rows) console.log(r)
}

/**
 * Export archives of a 1,000,000-row account (BENCH_ARCHIVE_ROWS): JSON and CSV built in the
 * background, from the POST to `ready`, against the streaming export of the same rows; the
 * server's peak RSS growth for each (goal: ≤ 2× the streaming time, ≤ 64 MiB).
 */
export async function benchArchives() {
  const rowsWanted = Number(process.env.BENCH_ARCHIVE_ROWS ?? 1_000_000)
  header(`Export archives of a ${rowsWanted.toLocaleString('en')}-row account against the streaming export`)
  const server = await startBenchServer('heavy', {
    BENCH_HEAVY_SANDBOXES: String(rowsWanted),
    BENCH_ARCHIVES: 'on',
  })
  const rows = Object.values(server.info.rows as Record<string, number>).reduce((a, b) => a + b, 0)
  const token = await session(server.info.userId)
  const auth = { authorization: `Bearer ${token}` }
  const table: string[] = []
  const measure = async (name: string, run: () => Promise<number>) => {
    await Bun.sleep(300)
    Bun.gc?.(true)
    const idle = server.rssMiB()
    server.resetPeak()
    const start = performance.now()
    const bytes = await run()
    const ms = performance.now() - start
    const growth = server.peakRssMiB() - idle
    table.push(`| ${name} | ${ms.toFixed(0)} | ${(bytes / 1048576).toFixed(1)} | ${growth.toFixed(1)} |`)
    return ms
  }
  const stream = async () => {
    const response = await fetch(`${server.url}/v1/account/export`, { headers: auth })
    let bytes = 0
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.byteLength
    return bytes
  }
  const archive = (format: 'json' | 'csv') => async () => {
    const created = await fetch(`${server.url}/v1/account/exports`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
      body: JSON.stringify({ format }),
    })
    const { id } = (await created.json()) as { id: string }
    for (;;) {
      await Bun.sleep(50)
      const state = (await (
        await fetch(`${server.url}/v1/account/exports/${id}`, { headers: auth })
      ).json()) as {
        status: string
        size: number
      }
      if (state.status === 'ready') return state.size
      if (state.status === 'failed') throw new Error(`the ${format} archive failed`)
    }
  }
  const streamed = [
    await measure('streaming export, /v1 JSON (run 1)', stream),
    await measure('streaming export, /v1 JSON (run 2)', stream),
  ]
  const json = await measure('archive, JSON (POST → ready)', archive('json'))
  const csv = await measure('archive, CSV zip (POST → ready)', archive('csv'))
  await server.stop()
  console.log(`account rows: ${rows.toLocaleString('en')}`)
  console.log('| target | wall ms | MB | peak RSS growth MiB |')
  console.log('|---|---:|---:|---:|')
  for (const r of table) console.log(r)
  const base = Math.min(...streamed)
  console.log(
    `archive / streaming: JSON ${(json / base).toFixed(2)}×, CSV ${(csv / base).toFixed(2)}× (goal ≤ 2×)`,
  )
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
