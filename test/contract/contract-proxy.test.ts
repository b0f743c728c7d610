import { afterAll, describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import { freePort } from '../support/binary'
import { createTestApp } from '../support/harness'
import { runScenario } from './scenario'

const ROOT = join(import.meta.dir, '../..')
const cleanups: (() => void)[] = []
afterAll(() => {
  for (const cleanup of cleanups.reverse()) cleanup()
})

/**
 * Prism in proxy mode with --errors: it forwards to the real server and turns any request or
 * response that does not match /docs/json into an error with an `sl-violations` header.
 */
async function startContractProxy(documentPath: string, upstream: string): Promise<string> {
  const port = await freePort()
  // Run by Bun rather than `node`: Prism needs require() of ES modules, which Node 18 (Debian
  // bookworm's, inside the image build) does not have.
  const proc = Bun.spawn(
    [
      process.execPath,
      join(ROOT, 'node_modules/@stoplight/prism-cli/dist/index.js'),
      'proxy',
      documentPath,
      upstream,
      '--errors',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
    ],
    { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' },
  )
  cleanups.push(() => proc.kill())
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return url
    } catch {}
    if (proc.exitCode !== null) throw new Error(`prism exited: ${await new Response(proc.stderr).text()}`)
    if (Date.now() > deadline) throw new Error('prism did not start within 30 s')
    await Bun.sleep(100)
  }
}

describe('the API through a validating proxy built from /docs/json', () => {
  it('runs the typed-client scenario with every request and response matching the document', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (request) => t.app.handle(request) })
    cleanups.push(() => server.stop(true))
    const documentPath = join(ROOT, '.tmp', 'contract-openapi.json')
    await Bun.write(documentPath, await (await t.request('GET', '/docs/json')).text())
    const proxy = await startContractProxy(documentPath, `http://127.0.0.1:${server.port}`)
    const u = await t.createUser()
    const violations: string[] = []
    await runScenario(
      {
        baseUrl: proxy,
        fetch: (request) => fetch(request),
        inspect: (response, label) => {
          const header = response.headers.get('sl-violations')
          if (header) violations.push(`${label}: ${header}`)
        },
      },
      { apiKey: u.apiKey, session: u.session },
    )
    expect(violations).toEqual([])
  }, 60_000)
})
