import { afterEach } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli'

const dirs: string[] = []
const savedEnv = { ...process.env }
afterEach(() => {
  process.env = { ...savedEnv }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** Runs the CLI in process; answers its exit code and what it printed. */
export async function cli(argv: string[]) {
  const lines: string[] = []
  const code = await main(argv, (line) => lines.push(line))
  return { code, output: lines.join('\n') }
}

/** A deployment in a temporary directory the CLI's commands find through the environment (reset after the test). */
export function cliDeployment(env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-cli-'))
  dirs.push(dir)
  Object.assign(process.env, {
    DATABASE_PATH: join(dir, 'custodian.db'),
    STORAGE_DIR: join(dir, 'files'),
    LOG_LEVEL: 'silent',
    ...env,
  })
  return dir
}
