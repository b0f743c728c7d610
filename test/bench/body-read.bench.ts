import { header } from './lib/report'
import { type Contender, medianRatio, roundsTable, runRounds } from './lib/rounds'
import { startBenchServer } from './lib/server-process'

/**
 * A small JSON POST body read from the network through its ReadableStream, against Body.bytes()
 * — the body guard's two paths (chunked bodies, declared lengths) — in interleaved rounds.
 */
export async function benchBodyRead(durationSec: number) {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
  header(
    `Reading a 41-byte JSON body: stream reader vs Body.bytes() — wrk -t2 -c64 ${durationSec}s × ${rounds} rounds`,
  )
  const body = JSON.stringify({ memory_mb: 512, metadata: { n: 12345 } })
  const contender = async (name: string, how: string): Promise<Contender> => {
    const server = await startBenchServer('body-read', {}, [how])
    return {
      name,
      server,
      url: server.url,
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
      rounds: [],
    }
  }
  const stream = await contender('ReadableStream reader (chunked bodies)', 'stream')
  const bytes = await contender('Body.bytes() (declared Content-Length)', 'bytes')
  await runRounds([stream, bytes], durationSec, rounds)
  roundsTable([stream, bytes], stream)
  console.log(
    `bytes() / stream reader, median of same-round ratios: ${medianRatio(bytes, stream).toFixed(2)}×`,
  )
}
