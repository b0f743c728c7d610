// `bun run bench:load`: 200 concurrent clients for 60 s (LOAD_CLIENTS, LOAD_SECONDS) on a mixed
// read/write workload of both dialects, rate limits raised, after LOAD_WARMUP_SECONDS (2) of the
// same load whose latencies are not recorded (the server's JIT compiles its paths in the first
// second: p50 there ~100 ms). Then every acknowledged write, warm-up included, is looked for
// through the API. Prints throughput, p50/p99 per operation, the spread of latencies and of
// throughput second by second, the WAL file's size at the end, 5xx and lost writes.
import { statSync } from 'node:fs'
import { SignJWT } from 'jose'
import { header } from './lib/report'
import { startBenchServer } from './lib/server-process'

const CLIENTS = Number(process.env.LOAD_CLIENTS ?? 200)
const SECONDS = Number(process.env.LOAD_SECONDS ?? 60)
const WARMUP_SECONDS = Number(process.env.LOAD_WARMUP_SECONDS ?? 2)
const SECRET = 'load-secret-0123456789abcdef'
const RAISED = '1000000000/60'

interface LoadUser {
  userId: string
  email: string
  apiKey: string
  runtimeKey: string
  appId: string
}

/** What one client was told succeeded: the run checks each of these afterwards. */
interface Acknowledged {
  sandboxes: Set<string>
  destroyed: Set<string>
  displayName: string | null
  supportInfo: string | null
}

type Op =
  | 'status'
  | 'apps'
  | 'me'
  | 'sandbox list'
  | 'sandbox create'
  | 'sandbox destroy'
  | 'patch me'
  | 'put support page'
const MIX: [Op, number][] = [
  ['status', 30],
  ['apps', 10],
  ['me', 10],
  ['sandbox list', 10],
  ['sandbox create', 15],
  ['sandbox destroy', 5],
  ['patch me', 10],
  ['put support page', 10],
]
const WHEEL: Op[] = MIX.flatMap(([op, weight]) => Array.from({ length: weight }, () => op))

async function session(user: LoadUser) {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ email: user.email, email_verified: true })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user.userId)
    .setAudience('authenticated')
    .setIssuedAt(now)
    .setExpirationTime(now + 3 * 3600)
    .sign(new TextEncoder().encode(SECRET))
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0

header(
  `Mixed load: ${CLIENTS} concurrent clients for ${SECONDS} s after ${WARMUP_SECONDS} s of warm-up, both dialects, rate limits raised`,
)
const server = await startBenchServer(
  'load',
  {
    AUTH_JWT_SECRET: SECRET,
    RATE_LIMIT_DEFAULT: RAISED,
    RATE_LIMIT_APPS_CREATE: RAISED,
    LOG_LEVEL: 'warn',
  },
  [String(CLIENTS)],
)
const users = server.info.users as LoadUser[]
const sessions = await Promise.all(users.map(session))
const latencies = new Map<Op, number[]>(MIX.map(([op]) => [op, []]))
const statuses = new Map<number, number>()
let networkErrors = 0
let sequence = 0
/** Requests answered in each whole second of the measured run (its throughput second by second). */
const perSecond: number[] = []
let recordFrom = Number.POSITIVE_INFINITY
const acknowledged: Acknowledged[] = users.map(() => ({
  sandboxes: new Set(),
  destroyed: new Set(),
  displayName: null,
  supportInfo: null,
}))

/** One client owns one user, so its writes are ordered: the last acknowledged value must stick. */
async function client(index: number, until: number) {
  const user = users[index] as LoadUser
  const ack = acknowledged[index] as Acknowledged
  const api = { authorization: `Bearer ${user.apiKey}` }
  const v1 = { authorization: `Bearer ${sessions[index]}` }
  const runtime = { authorization: `Bearer ${user.runtimeKey}` }
  const json = { 'content-type': 'application/json' }
  const live: string[] = []
  while (performance.now() < until) {
    const op = WHEEL[Math.floor(Math.random() * WHEEL.length)] as Op
    const n = ++sequence
    let url = server.url
    let init: RequestInit = {}
    switch (op) {
      case 'status':
        url += '/api/status'
        init = { headers: api }
        break
      case 'apps':
        url += '/api/apps'
        init = { headers: api }
        break
      case 'me':
        url += '/v1/account/me'
        init = { headers: v1 }
        break
      case 'sandbox list':
        url += '/v1/sandboxes?limit=20'
        init = { headers: runtime }
        break
      case 'sandbox create':
        url += '/v1/sandboxes'
        init = {
          method: 'POST',
          headers: { ...runtime, ...json, 'idempotency-key': `load-${n}` },
          body: JSON.stringify({ memory_mb: 512, metadata: { n } }),
        }
        break
      case 'sandbox destroy': {
        const id = live.pop()
        if (!id) continue
        url += `/v1/sandboxes/${id}`
        init = { method: 'DELETE', headers: runtime }
        break
      }
      case 'patch me':
        url += '/v1/account/me'
        init = {
          method: 'PATCH',
          headers: { ...v1, ...json },
          body: JSON.stringify({ display_name: `name-${n}` }),
        }
        break
      case 'put support page':
        url += `/api/apps/${user.appId}/support-page`
        init = {
          method: 'PUT',
          headers: { ...api, ...json },
          body: JSON.stringify({ contactEmail: 'help@load.example', additionalInfo: `info-${n}` }),
        }
        break
    }
    const started = performance.now()
    try {
      const response = await fetch(url, init)
      const text = await response.text()
      if (started >= recordFrom) {
        ;(latencies.get(op) as number[]).push(performance.now() - started)
        const second = Math.floor((started - recordFrom) / 1000)
        perSecond[second] = (perSecond[second] ?? 0) + 1
      }
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
      if (response.status >= 300) continue
      if (op === 'sandbox create') {
        const id = JSON.parse(text).id as string
        ack.sandboxes.add(id)
        live.push(id)
      } else if (op === 'sandbox destroy') ack.destroyed.add(url.slice(url.lastIndexOf('/') + 1))
      else if (op === 'patch me') ack.displayName = `name-${n}`
      else if (op === 'put support page') ack.supportInfo = `info-${n}`
    } catch {
      networkErrors++
    }
  }
}

// The warm-up's requests run and count as writes to check, but their latencies are not recorded.
const warmupStarted = performance.now()
const started = warmupStarted + WARMUP_SECONDS * 1000
recordFrom = started
const running = Promise.all(users.map((_, i) => client(i, started + SECONDS * 1000)))
await Bun.sleep(Math.max(0, started - performance.now()))
const serverCpuBefore = server.cpuMicros()
const clientCpuBefore = process.cpuUsage()
await running
const elapsed = (performance.now() - started) / 1000
const serverCpu = server.cpuMicros() - serverCpuBefore
const clientCpuUsage = process.cpuUsage(clientCpuBefore)
const clientCpu = clientCpuUsage.user + clientCpuUsage.system
const peakRss = server.peakRssMiB()

// Every acknowledged write, looked for through the API.
let lost = 0
let checked = 0
const problems: string[] = []
await Promise.all(
  users.map(async (user, i) => {
    const ack = acknowledged[i] as Acknowledged
    const runtime = { authorization: `Bearer ${user.runtimeKey}` }
    for (const id of ack.sandboxes) {
      checked++
      const r = await fetch(`${server.url}/v1/sandboxes/${id}`, { headers: runtime })
      const body = (await r.json()) as { status?: string }
      const expected = ack.destroyed.has(id) ? 'destroyed' : 'running'
      if (r.status !== 200 || body.status !== expected) {
        lost++
        if (problems.length < 5)
          problems.push(`sandbox ${id}: ${r.status} ${body.status} (expected ${expected})`)
      }
    }
    if (ack.displayName) {
      checked++
      const me = (await (
        await fetch(`${server.url}/v1/account/me`, { headers: { authorization: `Bearer ${sessions[i]}` } })
      ).json()) as { user: { display_name: string } }
      if (me.user.display_name !== ack.displayName) {
        lost++
        problems.push(`display name of ${user.email}: ${me.user.display_name} (expected ${ack.displayName})`)
      }
    }
    if (ack.supportInfo) {
      checked++
      const page = (await (
        await fetch(`${server.url}/api/apps/${user.appId}/support-page`, {
          headers: { authorization: `Bearer ${user.apiKey}` },
        })
      ).json()) as { additionalInfo: string }
      if (page.additionalInfo !== ack.supportInfo) {
        lost++
        problems.push(`support page of ${user.email}: ${page.additionalInfo} (expected ${ack.supportInfo})`)
      }
    }
  }),
)
const walFile = `${server.info.databasePath}-wal`
let walMiB = Number.NaN
try {
  walMiB = statSync(walFile).size / 1024 / 1024
} catch {}
await server.stop()

const all = [...latencies.values()].flat().sort((a, b) => a - b)
const fiveXX = [...statuses].filter(([s]) => s >= 500).reduce((sum, [, n]) => sum + n, 0)
console.log('| operation | requests | p50 ms | p99 ms | max ms |')
console.log('|---|---:|---:|---:|---:|')
for (const [op, values] of latencies) {
  values.sort((a, b) => a - b)
  console.log(
    `| ${op} | ${values.length} | ${percentile(values, 50).toFixed(2)} | ${percentile(values, 99).toFixed(2)} | ${(values.at(-1) ?? 0).toFixed(1)} |`,
  )
}
console.log(
  `| **all** | ${all.length} | ${percentile(all, 50).toFixed(2)} | ${percentile(all, 99).toFixed(2)} | ${(all.at(-1) ?? 0).toFixed(1)} |`,
)
console.log(
  `\nlatency spread (all): ${[10, 50, 90, 95, 99, 99.9].map((p) => `p${p} ${percentile(all, p).toFixed(1)}`).join(' · ')} ms`,
)
// LOAD_SERIES=1: the throughput of each second in order (does it sag as the run goes on?).
if (process.env.LOAD_SERIES)
  console.log(`seconds in order: ${perSecond.slice(0, Math.floor(elapsed)).join(' ')}`)
const seconds = perSecond.slice(0, Math.floor(elapsed)).sort((a, b) => a - b)
console.log(
  `throughput second by second: min ${seconds[0] ?? 0} · median ${percentile(seconds, 50)} · max ${seconds.at(-1) ?? 0} req/s; WAL file at the end ${walMiB.toFixed(1)} MiB`,
)
console.log(
  `throughput ${(all.length / elapsed).toFixed(0)} req/s over ${elapsed.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries(statuses))}; network errors ${networkErrors}; peak server RSS ${peakRss.toFixed(1)} MiB`,
)
console.log(
  `CPU per request: server ${(serverCpu / all.length).toFixed(0)} µs, load generator ${(clientCpu / all.length).toFixed(0)} µs (both on this machine's ${navigator.hardwareConcurrency} cores)`,
)
console.log(`5xx: ${fiveXX}; acknowledged writes checked: ${checked}; lost: ${lost}`)
for (const p of problems) console.log(`  ${p}`)
if (fiveXX > 0 || lost > 0 || networkErrors > 0) process.exit(1)
