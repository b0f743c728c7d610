import { rmSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

export interface BenchServer {
  url: string
  info: Record<string, any>
  pid: number
  /** CPU time the process has used so far (user + system), µs. */
  cpuMicros(): number
  /** Peak resident set size so far (VmHWM), MiB. */
  peakRssMiB(): number
  rssMiB(): number
  /** Resets the peak to the current RSS (Linux clear_refs), to measure one phase alone. */
  resetPeak(): void
  stop(): Promise<void>
}

function procStatus(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8') as string
    const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
    return kb / 1024
  } catch {
    return Number.NaN
  }
}

/** user + system CPU of a process from /proc/<pid>/stat, in µs (clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  try {
    const stat = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8') as string
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return Number.NaN
  }
}

/** Starts test/bench/lib/bench-server.ts in its own process and waits for its READY line. */
export async function startBenchServer(
  mode: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<BenchServer> {
  // BENCH_PROFILE=1 writes a CPU profile of the server (Chrome format) into the working directory.
  const flags = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-md', '--cpu-prof-interval=250'] : []
  return startServerProcess(
    ['bun', ...flags, join(import.meta.dir, 'bench-server.ts'), mode, ...args],
    env,
    mode,
  )
}

/** Any server process that prints `READY {json with url}` (peers written for other runtimes too). */
export async function startServerProcess(
  argv: string[],
  env: Record<string, string> = {},
  mode = argv.join(' '),
): Promise<BenchServer> {
  const proc = Bun.spawn(argv, {
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const reader = proc.stdout.getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`bench server ${mode} exited before READY`)
    buffer += new TextDecoder().decode(value)
    const line = buffer.split('\n').find((l) => l.startsWith('READY '))
    if (line) {
      const info = JSON.parse(line.slice(6))
      reader.releaseLock()
      return {
        url: info.url,
        info,
        pid: proc.pid,
        cpuMicros: () => cpuMicros(proc.pid),
        peakRssMiB: () => procStatus(proc.pid, 'VmHWM'),
        rssMiB: () => procStatus(proc.pid, 'VmRSS'),
        resetPeak: () => require('node:fs').writeFileSync(`/proc/${proc.pid}/clear_refs`, '5'),
        async stop() {
          // A profiled server must exit normally to write its profile; one on PostgreSQL stops
          // its cluster on SIGTERM.
          proc.kill(
            process.env.BENCH_PROFILE || process.env.BENCH_STORE === 'postgres' ? 'SIGTERM' : 'SIGKILL',
          )
          await proc.exited
          // The server's scratch database and files (GBs for the heavy modes) go with it.
          const scratch = info.dir ?? (info.databasePath ? dirname(info.databasePath) : null)
          if (typeof scratch === 'string' && basename(scratch).startsWith('custodian-bench-'))
            rmSync(scratch, { recursive: true, force: true })
        },
      }
    }
  }
}
