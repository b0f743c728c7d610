import { Database } from 'bun:sqlite'
import { afterEach, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BinaryServer, runCli, sharedBinary, startBinary } from '../support/binary'
import { type StripeEmulator, startStripeEmulator } from '../support/stripe-emulator'

let server: BinaryServer | null = null
let emulator: StripeEmulator | null = null
let workdir = ''
afterEach(async () => {
  await server?.stop('SIGKILL')
  emulator?.stop()
  if (workdir) rmSync(workdir, { recursive: true, force: true })
  server = null
  emulator = null
})

describe('graceful shutdown of the binary', () => {
  it('lets a request in flight at SIGTERM finish, refuses new ones, and exits 0 with the database intact', async () => {
    workdir = mkdtempSync(join(tmpdir(), 'custodian-shutdown-'))
    emulator = startStripeEmulator()
    const binary = await sharedBinary()
    server = await startBinary(binary, workdir, {
      STRIPE_SECRET_KEY: 'sk_test_emulator',
      STRIPE_API_BASE: emulator.url,
    })
    const created = await runCli(
      binary,
      workdir,
      ['user', 'create', '--email', 'slow@example.com', '--json'],
      server.env,
    )
    const { apiKey } = JSON.parse(created.stdout)
    // Each Stripe call takes 1.5 s: the setup intent is mid-request when the signal arrives.
    emulator.slow(1500)
    let answered = false
    const inFlight = fetch(`${server.url}/api/setup-intent`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}` },
    }).finally(() => {
      answered = true
    })
    await Bun.sleep(300)
    expect(answered).toBe(false) // still waiting on Stripe
    server.proc.kill('SIGTERM')
    await Bun.sleep(100)
    const refused = await fetch(`${server.url}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    )
    const answer = await inFlight
    expect(answer.status).toBe(201)
    expect(((await answer.json()) as any).clientSecret).toMatch(/_secret_/)
    expect(emulator.callsTo('POST', /^\/v1\/setup_intents$/)).toHaveLength(1)
    expect(refused).toBe('refused')
    expect(await server.proc.exited).toBe(0)

    // Checkpointed and closed: the WAL is empty and the database checks clean.
    const db = new Database(server.env.DATABASE_PATH as string, { readonly: true })
    expect(db.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
    expect(db.query('SELECT count(*) AS n FROM users WHERE stripe_customer_id IS NOT NULL').get()).toEqual({
      n: 1,
    })
    db.close()
    const wal = Bun.file(`${server.env.DATABASE_PATH}-wal`)
    expect((await wal.exists()) ? wal.size : 0).toBe(0)
  }, 30_000)
})
