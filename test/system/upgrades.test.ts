import { Database } from 'bun:sqlite'
import { afterAll, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, runToEnd, SOURCE_CLI, waitForPort } from '../support/binary'

// Upgrades say what they do: `migrate` lists what it applied, `serve` logs each migration, and a
// binary older than its database refuses it in one line (exit 78) rather than serve a schema it
// does not know.
const root = mkdtempSync(join(tmpdir(), 'custodian-upgrades-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const envFor = (name: string) => ({
  ...process.env,
  DATABASE_PATH: join(root, name, 'custodian.db'),
  STORAGE_DIR: join(root, name, 'files'),
  LOG_LEVEL: 'info',
})

it('custodian migrate lists the migrations it applied, then says there are none', async () => {
  const env = envFor('fresh')
  const first = await runToEnd([...SOURCE_CLI, 'migrate'], env, root)
  expect(first.code).toBe(0)
  expect(first.stdout).toMatch(/^Applied \d+ migration\(s\):\n {2}0000_init\n/)
  const again = await runToEnd([...SOURCE_CLI, 'migrate', '--json'], env, root)
  expect(JSON.parse(again.stdout)).toEqual({ applied: [] })
})

it('custodian serve logs each migration it applies', async () => {
  const env = { ...envFor('served'), PORT: String(await freePort()), HOST: '127.0.0.1' }
  const server = Bun.spawn([...SOURCE_CLI, 'serve'], { cwd: root, env, stdout: 'pipe', stderr: 'ignore' })
  let log = ''
  const reading = (async () => {
    for await (const chunk of server.stdout) log += new TextDecoder().decode(chunk)
  })()
  try {
    await waitForPort(Number(env.PORT), 'custodian serve')
    const deadline = Date.now() + 10_000
    while (!log.includes('"msg":"listening"') && Date.now() < deadline) await Bun.sleep(20)
  } finally {
    server.kill('SIGTERM')
    await server.exited
    await reading
  }
  const migrations = log
    .split('\n')
    .filter((l) => l.includes('"msg":"migration applied"'))
    .map((l) => JSON.parse(l).migration)
  expect(migrations[0]).toBe('0000_init')
  // The listening line names the store actually used.
  const listening = JSON.parse(log.split('\n').find((l) => l.includes('"msg":"listening"')) as string)
  expect(listening.database).toBe(`SQLite ${env.DATABASE_PATH}`)
  expect(migrations.length).toBeGreaterThan(5)
})

it('refuses a database migrated by a newer binary, in one line, exit 78', async () => {
  const env = envFor('newer')
  expect((await runToEnd([...SOURCE_CLI, 'migrate'], env, root)).code).toBe(0)
  const db = new Database(env.DATABASE_PATH)
  db.run('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)', [
    'from-the-future',
    4102444800000,
  ])
  db.close()
  for (const command of ['serve', 'migrate']) {
    const run = await runToEnd([...SOURCE_CLI, command], { ...env, PORT: String(await freePort()) }, root)
    expect({ command, code: run.code }).toEqual({ command, code: 78 })
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toContain('newer Custodian')
  }
})
