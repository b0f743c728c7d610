import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BinaryServer, runCli, sharedBinary, startBinary } from '../support/binary'

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
    expect((await runCli(binary, workdir, ['--help'], server.env)).stdout).toContain('user create --email')
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
    ).stdout.trim()
    expect(runtime).toMatch(/^ns_live_[0-9a-f]{32}$/)
  })

  it('serves its docs and readiness from the embedded assets and migrations', async () => {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
    expect((await fetch(`${server.url}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200)
    const doc = (await (await fetch(`${server.url}/docs/json`)).json()) as any
    expect(Object.keys(doc.paths)).toContain('/api/status')
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
