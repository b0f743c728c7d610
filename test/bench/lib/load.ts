import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface LoadOptions {
  url: string
  method?: string
  headers?: Record<string, string>
  body?: string
  connections?: number
  threads?: number
  durationSec?: number
  /** A header sent with a value unique to each request (e.g. Idempotency-Key). */
  uniqueHeader?: string
  /**
   * A header whose value goes round `values`, one request after another (e.g. 32 teams' keys).
   * Each wrk thread starts its round at its own share of `values`, from `offset` (several load
   * generators at once give each its own): clients spread over the values as 32 clients of 32
   * teams would be, not in step on the same ones.
   */
  rotateHeader?: { name: string; values: string[]; offset?: number }
}

export interface LoadResult {
  tool: 'wrk' | 'bun'
  requests: number
  rps: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  errors: number
  non2xx: number
}

const hasWrk = () => Bun.which('wrk') !== null

/** Drives HTTP load from a separate process: wrk when installed, else a Bun client. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  return hasWrk() ? runWrk(options) : runBunClient(options)
}

const REPORTER = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('JSON{"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`

async function runWrk(o: LoadOptions): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-wrk-'))
  const script = join(dir, 'report.lua')
  let lua = REPORTER
  if (o.method && o.method !== 'GET') lua += `wrk.method = ${JSON.stringify(o.method)}\n`
  if (o.body) lua += `wrk.body = ${JSON.stringify(o.body)}\n`
  // Unique across wrk processes too (several run at once against several instances): a nonce per
  // run, since wrk's Lua random numbers start from the same seed in every process.
  if (o.uniqueHeader || o.rotateHeader) {
    const rotate = o.rotateHeader
    lua += `
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function init(args) start = ${rotate?.offset ?? 0} + tid * math.ceil(${rotate?.values.length ?? 0} / ${o.threads ?? 2}) end
local counter = 0
${rotate ? `local rotating = { ${rotate.values.map((v) => JSON.stringify(v)).join(', ')} }` : ''}
function request()
  counter = counter + 1
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  ${o.uniqueHeader ? `h[${JSON.stringify(o.uniqueHeader)}] = "bench-${crypto.randomUUID().slice(0, 8)}-" .. tid .. "-" .. counter` : ''}
  ${rotate ? `h[${JSON.stringify(rotate.name)}] = rotating[((counter + start) % #rotating) + 1]` : ''}
  return wrk.format(nil, nil, h, nil)
end
`
  }
  writeFileSync(script, lua)
  const args = [
    'wrk',
    `-t${o.threads ?? 2}`,
    `-c${o.connections ?? 64}`,
    `-d${o.durationSec ?? 10}s`,
    '-s',
    script,
  ]
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`)
  args.push(o.url)
  const proc = Bun.spawn(args, { stdout: 'pipe', stderr: 'pipe' })
  const out = await new Response(proc.stdout).text()
  await proc.exited
  const line = out.split('\n').find((l) => l.startsWith('JSON'))
  if (!line) throw new Error(`wrk gave no report:\n${out}\n${await new Response(proc.stderr).text()}`)
  const r = JSON.parse(line.slice(4))
  return {
    tool: 'wrk',
    requests: r.requests,
    rps: r.requests / (r.duration_us / 1e6),
    p50Ms: r.p50_us / 1000,
    p99Ms: r.p99_us / 1000,
    maxMs: r.max_us / 1000,
    errors: r.errors,
    non2xx: r.non2xx,
  }
}

async function runBunClient(o: LoadOptions): Promise<LoadResult> {
  const proc = Bun.spawn(['bun', join(import.meta.dir, 'bun-client.ts'), JSON.stringify(o)], {
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const out = await new Response(proc.stdout).text()
  await proc.exited
  return { tool: 'bun', ...JSON.parse(out) }
}
