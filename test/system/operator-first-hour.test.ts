import { afterAll, describe, expect, it } from 'bun:test'
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Metrics } from '../../src/lib/metrics'
import { checkBillingCredentials } from '../../src/services/billing-health'
import { createBillingTestApp } from '../support/billing'
import { freePort, sharedBinary, waitForPort } from '../support/binary'
import { createTestApp } from '../support/harness'
import { itSqlite, sqliteOf } from '../support/test-database'

const ROOT = join(import.meta.dir, '../..')
const dir = mkdtempSync(join(tmpdir(), 'custodian-operator-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const baseEnv = () => ({
  PATH: process.env.PATH ?? '',
  HOME: dir,
  DATABASE_PATH: join(dir, `db-${crypto.randomUUID()}`, 'custodian.db'),
  STORAGE_DIR: join(dir, 'files'),
  LOG_LEVEL: 'warn',
})

/** Runs the CLI from source (or the binary) and collects what it printed. */
async function cli(
  args: string[],
  env: Record<string, string> = {},
  options: { binary?: string; user?: string } = {},
) {
  const command = options.binary ? [options.binary, ...args] : ['bun', join(ROOT, 'src/index.ts'), ...args]
  const argv = options.user ? ['runuser', '-u', options.user, '--', ...command] : command
  const proc = Bun.spawn(argv, { cwd: dir, env: { ...baseEnv(), ...env }, stdout: 'pipe', stderr: 'pipe' })
  const timer = setTimeout(() => proc.kill(), 15_000)
  const [code, stdout, stderr] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ])
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/** One line or a short block, naming what it should, with no source code or stack in it. */
function expectCleanFailure(result: { code: number; stderr: string; stdout: string }, mentions: string[]) {
  expect(result.code).toBe(78)
  const text = result.stderr.trim()
  expect(text.split('\n').length).toBeLessThanOrEqual(3)
  for (const word of mentions) expect(text).toContain(word)
  expect(text).not.toMatch(/\n\s+at |\$bunfs|src\/|\.ts:\d+|Bun v\d/)
}

/**
 * A database migrated by this (root) process in a fresh directory under /tmp, and a way to run
 * the binary on it as another user (nobody: root writes through any file mode). The binary is
 * copied there: the checkout itself may sit in a directory only its owner can read (a fresh
 * `mktemp -d` clone is 0700).
 */
async function migratedForAnotherUser(prefix: string) {
  const home = mkdtempSync(join(tmpdir(), prefix))
  chmodSync(home, 0o777)
  const database = join(home, 'custodian.db')
  expect((await cli(['migrate'], { DATABASE_PATH: database })).code).toBe(0)
  for (const suffix of ['-wal', '-shm']) rmSync(`${database}${suffix}`, { force: true })
  const binary = join(home, 'custodian')
  copyFileSync(await sharedBinary(), binary)
  chmodSync(binary, 0o755)
  const user = process.getuid?.() === 0 ? 'nobody' : undefined
  return {
    database,
    asOtherUser: (args: string[]) =>
      cli(args, { DATABASE_PATH: database, STORAGE_DIR: join(home, 'files') }, { user, binary }),
    done: () => rmSync(home, { recursive: true, force: true }),
  }
}

describe('start-up failures name the variable, the value and the cause (exit 78)', () => {
  for (const mode of ['source', 'binary'] as const)
    it(`in ${mode} mode`, async () => {
      const binary = mode === 'binary' ? await sharedBinary() : undefined
      const run = (env: Record<string, string>, args: string[] = ['serve']) => cli(args, env, { binary })
      expectCleanFailure(await run({ DATABASE_PATH: '/proc/x.db' }), ['DATABASE_PATH', '/proc/x.db'])
      expectCleanFailure(await run({ STORAGE_DIR: '/proc/files' }), ['STORAGE_DIR', '/proc/files'])
      expectCleanFailure(await run({ HOST: '999.1.1.1', PORT: String(await freePort()) }), [
        'HOST',
        '999.1.1.1',
        'not an address of this machine',
      ])
      const port = await freePort()
      const holder = Bun.serve({ port, hostname: '127.0.0.1', fetch: () => new Response('taken') })
      try {
        expectCleanFailure(await run({ PORT: String(port) }), ['PORT', String(port), 'in use'])
      } finally {
        holder.stop(true)
      }
      const level = await run({ LOG_LEVEL: 'verbose' })
      expectCleanFailure(level, ['LOG_LEVEL', '"debug", "info", "warn", "error", "silent"'])
      const token = await run({ METRICS_TOKEN: 'short-secret' })
      expectCleanFailure(token, ['METRICS_TOKEN', '<redacted>'])
      expect(token.stderr).not.toContain('short-secret')
    }, 60_000)

  it('refuses to start on a database file it cannot write, naming it', async () => {
    // Root writes through any file mode: the server runs as nobody, on a file it may only read.
    const { database, asOtherUser, done } = await migratedForAnotherUser('custodian-ro-')
    chmodSync(database, 0o444)
    expectCleanFailure(await asOtherUser(['serve']), ['DATABASE_PATH', database, 'cannot be written'])
    done()
  }, 30_000)
  it('refuses to write through a database whose change-epoch file it cannot open, naming the file', async () => {
    // Another user may write the database but not the epoch file: its writes would stay invisible
    // to the server's caches (db/change-epochs.ts), so it must not start at all.
    const { database, asOtherUser, done } = await migratedForAnotherUser('custodian-epoch-')
    chmodSync(database, 0o666)
    chmodSync(`${database}-epoch`, 0o600)
    expectCleanFailure(await asOtherUser(['purge']), ['DATABASE_PATH', `${database}-epoch`])
    done()
  }, 30_000)
})

describe('/readyz', () => {
  itSqlite('answers 503 with a reason when the database cannot be written', async () => {
    const t = createTestApp({ sqlite: true })
    expect((await t.json('GET', '/readyz')).body).toMatchObject({ status: 'ready', database: 'ok' })
    sqliteOf(t.store).sqlite.exec('PRAGMA query_only = ON') // writes now fail as on a read-only file
    const r = await t.json('GET', '/readyz')
    expect(r.status).toBe(503)
    expect(r.body).toMatchObject({ status: 'not_ready', database: 'read_only' })
    expect(r.body.reason).toContain('cannot be written')
  })

  it('answers 503 when Stripe refused STRIPE_SECRET_KEY at start-up, and says so in the log', async () => {
    const lines: string[] = []
    const b = createBillingTestApp({ env: { STRIPE_SECRET_KEY: 'sk_test_mistyped_key' } })
    try {
      b.em.refusedKeys.add('sk_test_mistyped_key')
      const logger = { ...b.t.deps.logger, error: (msg: string) => lines.push(msg) }
      await checkBillingCredentials({ ...b.t.deps, logger })
      const r = await b.t.json('GET', '/readyz')
      expect(r.status).toBe(503)
      expect(r.body).toMatchObject({ billing: 'refused' })
      expect(r.body.reason).toContain('STRIPE_SECRET_KEY')
      expect(lines.join('\n')).toContain('Stripe refused STRIPE_SECRET_KEY')
    } finally {
      b.close()
    }
    const good = createBillingTestApp()
    try {
      await checkBillingCredentials(good.t.deps)
      expect((await good.t.json('GET', '/readyz')).body).toMatchObject({ status: 'ready', billing: 'ok' })
    } finally {
      good.close()
    }
  })
})

describe('the CLI helps', () => {
  it('prints each command’s usage for help, help COMMAND and COMMAND --help', async () => {
    const help = await cli(['help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('user create')
    expect(help.stdout).toContain('help config')
    expect(help.stdout).not.toContain('README.md')
    for (const args of [
      ['help', 'user', 'create'],
      ['user', 'create', '--help'],
    ]) {
      const r = await cli(args)
      expect(r.code).toBe(0)
      expect(r.stdout).toContain('Usage: bun src/index.ts user create --email E')
      expect(r.stdout).toContain('--export')
    }
    const config = await cli(['help', 'config'])
    expect(config.stdout).toContain('DATABASE_PATH')
    expect(config.stdout).toContain('AUTH_JWT_ISSUER')
    expect((await cli(['backup', '--help'])).stdout).toContain('--to FILE')
  })

  it('refuses unknown commands and flags with one clean line and exit 2', async () => {
    for (const [args, says] of [
      [['bogus'], 'Unknown command "bogus"'],
      [['--bogus'], 'Unknown option --bogus.'],
      [['migrate', '--email', 'x@example.com'], 'migrate takes no --email'],
      [['help', 'nothing'], 'No command "nothing"'],
    ] as const) {
      const r = await cli([...args])
      expect({ args, code: r.code }).toEqual({ args, code: 2 })
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toContain(says)
    }
    const group = await cli(['user'])
    expect(group.code).toBe(2)
    expect(group.stderr).toContain('user create --email E')
  })

  it('warns that a minted key is shown once, offers an export line, and explains a failed healthcheck', async () => {
    const env = { DATABASE_PATH: join(dir, 'keys', 'custodian.db') }
    const created = await cli(['user', 'create', '--email', 'op@example.com', '--export'], env)
    expect(created.stdout).toMatch(/^export CUSTODIAN_API_KEY=ok_\w+\n$/)
    const key = await cli(['key', 'create', '--email', 'op@example.com'], env)
    expect(key.stdout).toContain('shown once')
    expect(key.stdout).toMatch(/\nok_\w+\n$/)
    const health = await cli(['healthcheck'], { PORT: String(await freePort()) })
    expect(health.code).toBe(1)
    expect(health.stderr).toContain('nothing is listening there')
  })

  it('prints the whole OpenAPI document into a pipe, from source and from the binary', async () => {
    for (const prefix of [`bun ${join(ROOT, 'src/index.ts')}`, await sharedBinary()]) {
      const proc = Bun.spawn(
        [
          'bash',
          '-o',
          'pipefail',
          '-c',
          `${prefix} openapi | node -e 'JSON.parse(require("fs").readFileSync(0)); console.log("parsed")'`,
        ],
        { cwd: dir, env: baseEnv(), stdout: 'pipe', stderr: 'pipe' },
      )
      expect({
        prefix,
        code: await proc.exited,
        out: (await new Response(proc.stdout).text()).trim(),
      }).toEqual({
        prefix,
        code: 0,
        out: 'parsed',
      })
    }
  }, 30_000)

  it('writes backups readable by their owner only, and says when it made their directory', async () => {
    const env = { DATABASE_PATH: join(dir, 'backups-db', 'custodian.db') }
    const target = join(dir, 'new-backups', 'b.db')
    const r = await cli(['backup', '--to', target], env)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`Created ${join(dir, 'new-backups')}`)
    expect(statSync(target).mode & 0o777).toBe(0o600)
    expect(existsSync(target)).toBe(true)
  })

  it('suggests the command that works where it runs', async () => {
    const port = await freePort()
    const server = Bun.spawn(['bun', join(ROOT, 'src/index.ts'), 'serve'], {
      cwd: dir,
      env: { ...baseEnv(), PORT: String(port), LOG_LEVEL: 'info' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    try {
      await waitForPort(port, 'the server', 20_000)
      // The banner follows the listen: read until it is there (or the stream ends).
      const reader = (server.stderr as ReadableStream<Uint8Array>).getReader()
      let banner = ''
      while (!banner.includes('First credential')) {
        const { done, value } = await reader.read()
        if (done) break
        banner += new TextDecoder().decode(value)
      }
      expect(banner).toContain('First credential: bun src/index.ts user create')
    } finally {
      server.kill()
    }
  }, 30_000)
})

describe('smaller things', () => {
  it('points GET / to the documentation', async () => {
    const t = createTestApp()
    const r = await t.json('GET', '/')
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ docs: '/docs', openapi: '/docs/json', errors: '/docs/errors' })
  })

  it('names process metrics as dashboards expect (process_*, nodejs_*)', async () => {
    const text = await new Metrics({ processMetrics: true }).text()
    expect(text).toContain('process_cpu_user_seconds_total')
    expect(text).toContain('nodejs_eventloop_lag_seconds')
    expect(text).not.toContain('custodian_process_')
  })

  it('links the error codes from the documentation', async () => {
    const doc = (await (await createTestApp().request('GET', '/docs/json')).json()) as {
      info: { description: string }
    }
    expect(doc.info.description).toContain('[/docs/errors](/docs/errors)')
  })

  it('says a session token needs a verifier when the server has none', async () => {
    const t = createTestApp({ env: { AUTH_JWT_SECRET: '' } }) // '' is unset: no verifier
    const u = await t.createUser()
    const r = await t.json('GET', '/v1/account/me', { token: u.session })
    expect(r.status).toBe(401)
    expect(r.body.error).toContain('no session-token verifier')
    t.close()
  })
})
