import { join } from 'node:path'

const ROOT = join(import.meta.dir, '../..')

/** `bun run build` into a directory of the test's own; returns the executable's path. */
export async function buildBinary(outDir: string, entry = 'src/index.ts'): Promise<string> {
  const outfile = join(outDir, 'custodian')
  const proc = Bun.spawn(
    ['bun', 'build', entry, '--compile', '--minify-whitespace', '--minify-syntax', '--outfile', outfile],
    { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' },
  )
  if ((await proc.exited) !== 0) throw new Error(`build failed: ${await new Response(proc.stderr).text()}`)
  return outfile
}

let shared: Promise<string> | null = null

/** One build per test process, shared by every e2e file (bun test runs them in one process). */
export function sharedBinary(): Promise<string> {
  if (!shared) {
    const dir = require('node:fs').mkdtempSync(join(require('node:os').tmpdir(), 'custodian-bin-')) as string
    shared = buildBinary(dir)
  }
  return shared
}

export async function freePort(): Promise<number> {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = probe.port as number
  probe.stop(true)
  return port
}

/** Waits until something accepts TCP connections on a loopback port. */
export async function waitForPort(port: number, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const socket = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } })
      socket.end()
      return
    } catch {
      if (Date.now() > deadline) throw new Error(`${what} did not start`)
      await Bun.sleep(20)
    }
  }
}

export interface BinaryServer {
  url: string
  env: Record<string, string>
  proc: ReturnType<typeof Bun.spawn>
  stop(signal?: NodeJS.Signals): Promise<number>
}

/** Starts `custodian serve` on a free loopback port with a database in `dir`; waits for /healthz. */
export async function startBinary(
  binary: string,
  dir: string,
  extraEnv: Record<string, string> = {},
): Promise<BinaryServer> {
  const port = await freePort()
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_PATH: join(dir, 'data', 'custodian.db'),
    STORAGE_DIR: join(dir, 'data', 'files'),
    LOG_LEVEL: 'warn',
    ...extraEnv,
  }
  const proc = Bun.spawn([binary, 'serve'], { cwd: '/', env, stdout: 'pipe', stderr: 'pipe' })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break
    } catch {}
    if (proc.exitCode !== null) throw new Error(`server exited: ${await new Response(proc.stderr).text()}`)
    if (Date.now() > deadline) throw new Error('server did not start within 10 s')
    await Bun.sleep(25)
  }
  return {
    url,
    env,
    proc,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal)
      return proc.exited
    },
  }
}

/** Runs a CLI subcommand of the binary from `/` (nothing beside it). */
export function runCli(binary: string, _dir: string, args: string[], env: Record<string, string>) {
  return runToEnd([binary, ...args], env)
}

/** `custodian` from the source tree, as `bun src/index.ts` (no build needed). */
export const SOURCE_CLI = ['bun', join(ROOT, 'src/index.ts')]

/** Runs a command to its end: what it printed and its exit code. */
export async function runToEnd(argv: string[], env: Record<string, string | undefined>, cwd = '/') {
  const proc = Bun.spawn(argv, { cwd, env, stdout: 'pipe', stderr: 'pipe' })
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { stdout, stderr, code }
}
