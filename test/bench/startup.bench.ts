import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { header } from './lib/report'

const ROOT = join(import.meta.dir, '../..')
const RUNS = 10

function build(entry: string, outfile: string, bytecode: boolean) {
  const flags = ['--compile', '--minify-whitespace', '--minify-syntax', ...(bytecode ? ['--bytecode'] : [])]
  const run = Bun.spawnSync(['bun', 'build', entry, ...flags, '--outfile', outfile], { cwd: ROOT })
  if (run.exitCode !== 0) throw new Error(`build of ${entry} failed: ${run.stderr.toString()}`)
  return outfile
}

/** Milliseconds from spawning `argv` to its first 200 on /healthz, median of RUNS starts. */
async function startToHealthy(argv: string[], env: Record<string, string>) {
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000)
    const started = performance.now()
    const proc = Bun.spawn(argv, {
      env: { ...process.env, ...env, PORT: String(port) },
      stdout: 'ignore',
      stderr: 'pipe',
    })
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status === 200,
        () => false,
      )
      if (ok) break
      // A start that failed (a port taken by chance) must not leave the benchmark polling forever.
      if (proc.exitCode !== null || performance.now() - started > 10_000) {
        proc.kill('SIGKILL')
        throw new Error(
          `${argv.join(' ')} did not answer /healthz: ${await new Response(proc.stderr).text()}`,
        )
      }
      await Bun.sleep(1)
    }
    times.push(performance.now() - started)
    proc.kill('SIGKILL')
    await proc.exited
  }
  times.sort((a, b) => a - b)
  return {
    median: times[Math.floor(RUNS / 2)] as number,
    min: times[0] as number,
    max: times.at(-1) as number,
  }
}

/**
 * The compiled binary's start: process start to the first 200 on /healthz (a migrated database,
 * no Stripe, logs at warn), as `bun run build` makes it (with --bytecode) and without bytecode,
 * beside a compiled bare Bun.serve answering /healthz (the floor).
 */
export async function benchStartup() {
  header(`Compiled binary: process start to the first 200 on /healthz — median of ${RUNS} starts`)
  const dir = mkdtempSync(join(tmpdir(), 'custodian-startup-'))
  const bareEntry = join(dir, 'bare.ts')
  writeFileSync(
    bareEntry,
    "Bun.serve({ port: Number(process.env.PORT), hostname: '127.0.0.1', fetch: () => new Response('ok') })\n",
  )
  const env = {
    DATABASE_PATH: join(dir, 'custodian.db'),
    STORAGE_DIR: join(dir, 'files'),
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
  }
  const bytecode = build(join(ROOT, 'src/index.ts'), join(dir, 'custodian'), true)
  const plain = build(join(ROOT, 'src/index.ts'), join(dir, 'custodian-plain'), false)
  const bare = build(bareEntry, join(dir, 'bare'), true)
  Bun.spawnSync([bytecode, 'migrate'], { env: { ...process.env, ...env } })
  console.log('| binary | median ms | min ms | max ms |')
  console.log('|---|---:|---:|---:|')
  for (const [name, argv] of [
    ['bare Bun.serve, compiled (the floor)', [bare]],
    ['custodian serve, --bytecode (what `bun run build` makes)', [bytecode, 'serve']],
    ['custodian serve, without bytecode', [plain, 'serve']],
  ] as const) {
    const t = await startToHealthy([...argv], env)
    console.log(`| ${name} | ${t.median.toFixed(0)} | ${t.min.toFixed(0)} | ${t.max.toFixed(0)} |`)
  }
}
