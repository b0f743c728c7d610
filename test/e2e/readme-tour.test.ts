import { afterAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, waitForPort } from '../support/binary'

const ROOT = join(import.meta.dir, '../..')
const dir = mkdtempSync(join(tmpdir(), 'custodian-tour-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The README's tour block (the one that starts with `# tour`), exactly as a reader copies it. */
function tourBlock(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const block = /```sh\n# tour\n([\s\S]*?)```/.exec(readme)?.[1]
  if (!block) throw new Error('README has no tour block')
  return block
}

// The tour is curl and bash, as a reader runs it. Where curl is missing (the image's build stage
// runs the suite too) it is reported as skipped; .ci/run installs curl, so CI always runs it.
const CURL = Bun.which('curl')
if (!CURL && process.env.CI) throw new Error('curl is required in CI (.ci/run installs it)')
describe.skipIf(!CURL)('the README tour (skipped where curl is not installed)', () => {
  it('runs from top to bottom, pasted into a shell, against a started server (session tokens included)', async () => {
    const port = await freePort()
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      PORT: String(port),
      DATABASE_PATH: join(dir, 'custodian.db'),
      STORAGE_DIR: join(dir, 'files'),
      AUTH_JWT_SECRET: 'tour-secret-0123456789abcdef0123',
      LOG_LEVEL: 'warn',
    }
    const server = Bun.spawn(['bun', 'src/index.ts', 'serve'], {
      cwd: ROOT,
      env,
      stdout: 'pipe',
      stderr: 'pipe',
    })
    try {
      await waitForPort(port, 'the server', 20_000)
      // Pasted twice: the second run finds the user and mints it a new key.
      for (const run of [1, 2]) {
        const tour = Bun.spawn(['bash', '-euo', 'pipefail', '-c', tourBlock()], {
          cwd: ROOT,
          env: { ...env, BASE: `http://127.0.0.1:${port}` },
          stdout: 'pipe',
          stderr: 'pipe',
        })
        const [code, stdout, stderr] = await Promise.all([
          tour.exited,
          new Response(tour.stdout).text(),
          new Response(tour.stderr).text(),
        ])
        expect({ run, code, stderr }).toEqual({ run, code: 0, stderr: '' })
        expect(stdout).toContain('"subscription":"none"')
        expect(stdout).toMatch(/"key":"ok_/)
        expect(stdout).toContain('"email":"you@example.com"')
        expect(stdout).toMatch(/"key":"ns_live_/)
        expect(stdout).toMatch(/OpenAPI 3\.1 document: \d+ bytes/)
        expect(stdout.startsWith('\n') || stdout.includes('\n\n')).toBe(false) // no blank lines
      }
    } finally {
      server.kill()
      await server.exited
    }
  }, 60_000)
})
