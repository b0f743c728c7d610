import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BinaryServer, runCli, sharedBinary, startBinary } from '../support/binary'
import { jpegBytes, pngBytes, webpBytes } from '../support/images'

// Builds the real executable, runs it from a directory with nothing beside it, and talks to it.
let binary: string
let workdir: string
let server: BinaryServer
const secret = 'e2e-secret-0123456789abcdef'

beforeAll(async () => {
  workdir = mkdtempSync(join(tmpdir(), 'custodian-e2e-'))
  binary = await sharedBinary()
  server = await startBinary(binary, workdir, { AUTH_JWT_SECRET: secret })
}, 60_000)

afterAll(async () => {
  await server?.stop()
  rmSync(workdir, { recursive: true, force: true })
})

describe('the compiled binary', () => {
  it('prints its version and help', async () => {
    expect((await runCli(binary, workdir, ['--version'], server.env)).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
    const help = (await runCli(binary, workdir, ['--help'], server.env)).stdout
    expect(help).toContain('Usage: custodian [COMMAND]')
    expect(help).toContain('user create')
    expect((await runCli(binary, workdir, ['help', 'user', 'create'], server.env)).stdout).toContain(
      'Usage: custodian user create --email E',
    )
  })

  it('creates a user through its CLI and serves /api and /v1 to its credentials', async () => {
    const created = await runCli(
      binary,
      workdir,
      ['user', 'create', '--email', 'e2e@example.com', '--json'],
      server.env,
    )
    expect(created.code).toBe(0)
    const { apiKey, userId } = JSON.parse(created.stdout)
    expect(apiKey).toMatch(/^ok_/)
    const status = await fetch(`${server.url}/api/status`, { headers: { authorization: `Bearer ${apiKey}` } })
    expect(status.status).toBe(200)
    expect(await status.json()).toMatchObject({ subscription: 'none', appCount: 0 })

    const token = (
      await runCli(binary, workdir, ['token', '--email', 'e2e@example.com'], server.env)
    ).stdout.trim()
    const me = await fetch(`${server.url}/v1/account/me`, { headers: { authorization: `Bearer ${token}` } })
    expect(me.status).toBe(200)
    expect(((await me.json()) as any).user.id).toBe(userId)

    const runtime = (
      await runCli(
        binary,
        workdir,
        ['key', 'create', '--email', 'e2e@example.com', '--kind', 'runtime'],
        server.env,
      )
    ).stdout
      .trim()
      .split('\n')
      .at(-1) // after "shown once, keep it safe"
    expect(runtime).toMatch(/^ns_live_[0-9a-f]{32}$/)
  })

  it('serves its docs and readiness from the embedded assets and migrations', async () => {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
    expect((await fetch(`${server.url}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200)
    const doc = (await (await fetch(`${server.url}/docs/json`)).json()) as any
    expect(Object.keys(doc.paths)).toContain('/api/status')
  })

  it('serves the console sign-in page and its embedded stylesheet', async () => {
    const signIn = await fetch(`${server.url}/console/sign-in`)
    expect(signIn.status).toBe(200)
    expect(await signIn.text()).toContain('name="token"')
    const css = await fetch(`${server.url}/console/assets/console.css`)
    expect(css.status).toBe(200)
    expect(css.headers.get('content-type')).toContain('text/css')
    expect(await css.text()).toContain('.stat')
  })

  it('processes PNG, JPEG and WebP icons inside the binary (pure-JS and embedded WASM decoders)', async () => {
    const { apiKey } = JSON.parse(
      (
        await runCli(
          binary,
          workdir,
          ['user', 'create', '--email', 'icons@example.com', '--json'],
          server.env,
        )
      ).stdout,
    )
    const auth = { authorization: `Bearer ${apiKey}` }
    const app = (await (
      await fetch(`${server.url}/api/apps`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{"appName":"Icons"}',
      })
    ).json()) as { appId: string }
    for (const [type, bytes] of [
      ['image/png', await pngBytes()],
      ['image/jpeg', await jpegBytes()],
      ['image/webp', await webpBytes()],
    ] as const) {
      const r = await fetch(`${server.url}/api/apps/${app.appId}/site/icon`, {
        method: 'POST',
        headers: { ...auth, 'content-type': type },
        body: bytes,
      })
      expect({ type, status: r.status }).toEqual({ type, status: 200 })
      const { iconUrl } = (await r.json()) as { iconUrl: string }
      const icon = await fetch(`${server.url}${new URL(iconUrl).pathname}`)
      expect(icon.headers.get('content-type')).toBe('image/png')
      const png = new Uint8Array(await icon.arrayBuffer())
      expect([new DataView(png.buffer).getUint32(16), new DataView(png.buffer).getUint32(20)]).toEqual([
        512, 512,
      ])
    }
  })

  it('answers deep JSON with a 400 envelope, never an HTML error page or a stack', async () => {
    const created = await runCli(
      binary,
      workdir,
      ['user', 'create', '--email', 'deep@example.com', '--json'],
      server.env,
    )
    const { apiKey } = JSON.parse(created.stdout)
    const response = await fetch(`${server.url}/api/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: `{"appName":${'['.repeat(5000)}${']'.repeat(5000)}}`,
    })
    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toStartWith('application/json')
    const text = await response.text()
    expect(text).not.toContain('$bunfs')
    expect(text).not.toContain('<html')
    expect(JSON.parse(text).error.code).toBe('VALIDATION_FAILED')
  })

  it('refuses a bad configuration value by name', async () => {
    const r = await runCli(binary, workdir, ['migrate'], { ...server.env, PORT: 'eighty' })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('PORT')
  })

  it('answers its healthcheck subcommand', async () => {
    expect((await runCli(binary, workdir, ['healthcheck'], server.env)).code).toBe(0)
  })
})
