import { SignJWT } from 'jose'
import { runLoad } from './lib/load'
import { header, loadTable } from './lib/report'
import { type BenchServer, startBenchServer, startServerProcess } from './lib/server-process'

const SEEDED = 20_000
const STARTUP_EVENTS = 200 // 200 users: account.created each

interface ReceiverStats {
  count: number
  firstAt: number
  lastAt: number
  duplicates: number
  delays: number
  p50: number
  p99: number
  max: number
}

/**
 * `bun run bench webhooks`: events delivered per second from the outbox to a local receiver (in
 * a process of its own), beside the floor — the same signed POSTs sent by a bare loop with as
 * many in flight — then the delay from commit to delivery at fixed rates of profile changes, and
 * what announcing costs a write (PATCH /v1/account/me with an endpoint subscribed to `*` against
 * none).
 */
export async function benchWebhooks(durationSec: number) {
  const receiver = await startServerProcess(['bun', `${import.meta.dir}/lib/webhook-receiver.ts`])
  const hook = receiver.info.url as string
  const stats = async () => (await (await fetch(hook.replace('/hooks', '/stats'))).json()) as ReceiverStats
  const reset = () => fetch(hook.replace('/hooks', '/reset'), { method: 'POST' })
  try {
    header(
      `Webhook delivery: ${SEEDED.toLocaleString('en')} events waiting in the outbox (1,000 accounts), one endpoint`,
    )
    const floor = await floorRate(hook, stats, reset)
    await reset()
    const started = performance.now()
    const server = await startBenchServer('webhooks', { BENCH_WEBHOOK_URL: hook }, [String(SEEDED)])
    const cpuBefore = server.cpuMicros()
    const sentAt = performance.now()
    await until(async () => (await stats()).count >= SEEDED + STARTUP_EVENTS, 120_000)
    const drained = performance.now()
    const done = await stats()
    const rate = (SEEDED + STARTUP_EVENTS) / ((drained - sentAt) / 1000)
    const cpuPerEvent = (server.cpuMicros() - cpuBefore) / (SEEDED + STARTUP_EVENTS)
    console.log('| sender | events/s | server CPU µs/event | duplicates | ratio to floor |')
    console.log('|---|---:|---:|---:|---:|')
    console.log(`| floor: a bare loop, 64 signed POSTs in flight | ${floor.toFixed(0)} | - | - | 1.00 |`)
    console.log(
      `| Custodian's delivery worker (${server.info.users.length} users seeded; start to drained ${((drained - started) / 1000).toFixed(1)} s) | ${rate.toFixed(0)} | ${cpuPerEvent.toFixed(0)} | ${done.duplicates} | ${(rate / floor).toFixed(2)} |`,
    )

    header(
      'Delay from commit to delivery at fixed rates of PATCH /v1/account/me over 200 accounts (open loop, 5 s each)',
    )
    const sessions = await Promise.all((server.info.users as string[]).map(sessionFor))
    console.log('| events/s offered | delivered | p50 ms | p99 ms | max ms |')
    console.log('|---:|---:|---:|---:|---:|')
    for (const perSecond of [500, 1000, 2000]) {
      await reset()
      const offered = await offerAt(server, sessions, perSecond, 5)
      await until(async () => (await stats()).count >= offered, 30_000).catch(() => {})
      const s = await stats()
      console.log(`| ${perSecond} | ${s.count} of ${offered} | ${s.p50} | ${s.p99} | ${s.max} |`)
    }
    await server.stop()

    header(
      `What announcing costs a write: PATCH /v1/account/me, 32 clients over 200 accounts, ${durationSec}s each`,
    )
    const rows = []
    for (const [name, env] of [
      ['no endpoint (nothing written to the outbox)', {}],
      [
        'one endpoint subscribed to *, delivery worker off (the outbox rows only)',
        { BENCH_WEBHOOK_URL: hook, BENCH_WEBHOOK_WORKER: 'off' },
      ],
      [
        'one endpoint subscribed to *, delivering as it goes (same process, same 2 cores)',
        { BENCH_WEBHOOK_URL: hook },
      ],
    ] as const) {
      const s = await startBenchServer('webhooks', env, ['0'])
      const tokens = await Promise.all((s.info.users as string[]).map(sessionFor))
      const cpu = s.cpuMicros()
      const result = await runLoad({
        url: `${s.url}/v1/account/me`,
        method: 'PATCH',
        body: '{"display_name":"Bench"}',
        headers: { 'content-type': 'application/json' },
        rotateHeader: { name: 'authorization', values: tokens.map((t) => `Bearer ${t}`) },
        connections: 32,
        threads: 2,
        durationSec,
      })
      const perRequest = (s.cpuMicros() - cpu) / Math.max(1, result.rps * durationSec)
      rows.push({
        name: `${name} — ${perRequest.toFixed(0)} µs CPU/request`,
        result,
        peakRssMiB: s.peakRssMiB(),
      })
      await s.stop()
    }
    loadTable(rows)
    const [without, outboxOnly, delivering] = rows
    if (without && outboxOnly && delivering)
      console.log(
        `writes per second with an endpoint: ${(outboxOnly.result.rps / without.result.rps).toFixed(2)}× (outbox rows only), ${(delivering.result.rps / without.result.rps).toFixed(2)}× (also delivering each)`,
      )
  } finally {
    await receiver.stop()
  }
}

async function until(condition: () => Promise<boolean>, ms: number) {
  const deadline = performance.now() + ms
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error('the receiver did not get every event in time')
    await Bun.sleep(20)
  }
}

const sessionFor = (userId: string) =>
  new SignJWT({ email: 'bench@example.com', email_verified: true, role: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setAudience('authenticated')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(process.env.BENCH_JWT_SECRET))

/** Sends `perSecond` profile changes a second for `seconds`, on schedule whatever the answers take. */
async function offerAt(server: BenchServer, sessions: string[], perSecond: number, seconds: number) {
  const total = perSecond * seconds
  const start = performance.now()
  const inFlight: Promise<unknown>[] = []
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / perSecond
    const wait = due - performance.now()
    if (wait > 1) await Bun.sleep(wait)
    inFlight.push(
      fetch(`${server.url}/v1/account/me`, {
        method: 'PATCH',
        headers: {
          authorization: `Bearer ${sessions[i % sessions.length]}`,
          'content-type': 'application/json',
        },
        body: `{"display_name":"Bench ${i}"}`,
      }).then((r) => r.arrayBuffer()),
    )
  }
  await Promise.all(inFlight)
  return total
}

/** The floor: the same kind of signed POST (HMAC-SHA-256, ~200 bytes) from a bare loop, 64 in flight. */
async function floorRate(hook: string, stats: () => Promise<ReceiverStats>, reset: () => Promise<Response>) {
  await reset()
  const key = new Bun.CryptoHasher('sha256').update('floor').digest()
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < SEEDED) {
        const n = next++
        const id = `evt_floor${n}`
        const body = JSON.stringify({
          id,
          type: 'account.updated',
          created_at: new Date().toISOString(),
          data: { user_id: `seeded-${n % 1000}` },
        })
        const timestamp = Math.floor(Date.now() / 1000)
        const signature = new Bun.CryptoHasher('sha256', key)
          .update(`${id}.${timestamp}.${body}`)
          .digest('base64')
        const r = await fetch(hook, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            'webhook-id': id,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': `v1,${signature}`,
          },
        })
        await r.arrayBuffer()
      }
    }),
  )
  const rate = SEEDED / ((performance.now() - started) / 1000)
  if ((await stats()).count < SEEDED) throw new Error('the floor lost requests')
  return rate
}
