import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBinary, runCli, sharedBinary, startBinary } from '../support/binary'
import { type StripeEmulator, startStripeEmulator } from '../support/stripe-emulator'

// The real binary, killed with SIGKILL right after a deletion records each step, then restarted:
// the worker must finish the job, the database must pass integrity_check, and Stripe must not
// have been asked to do anything twice.
let binary: string
/** The same server built from a test-only entry that can stop a deletion between steps. */
let faultBinary: string
let em: StripeEmulator
const dirs: string[] = []

beforeAll(async () => {
  binary = await sharedBinary()
  const dir = mkdtempSync(join(tmpdir(), 'custodian-fault-bin-'))
  dirs.push(dir)
  faultBinary = await buildBinary(dir, 'test/e2e/support/fault-entry.ts')
  em = startStripeEmulator()
}, 60_000)
afterAll(() => {
  em.stop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

async function waitFor<T>(
  what: string,
  fn: () => T | undefined | null | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = fn()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(50)
  }
}

describe('deletion survives kill -9 between steps', () => {
  for (const step of ['requested', 'billing_stopped', 'data_erased'] as const) {
    it(`completes after a crash right after "${step}"`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'custodian-crash-'))
      dirs.push(dir)
      const env = {
        STRIPE_SECRET_KEY: 'sk_test_emulator',
        STRIPE_API_BASE: em.url,
        WORKER_INTERVAL_SECONDS: '1',
        DELETION_LEASE_SECONDS: '1',
      }
      const first = await startBinary(faultBinary, dir, { ...env, TEST_PAUSE_AFTER_STEP: step })
      const created = JSON.parse(
        (
          await runCli(
            binary,
            dir,
            ['user', 'create', '--email', `crash-${step}@example.com`, '--json'],
            first.env,
          )
        ).stdout,
      )
      const customer = em.createCustomer({ email: 'crash@example.com' })
      const sub = em.createSubscription({
        customer: customer.id,
        items: [{ price: 'price_monthly' }],
        status: 'active',
      })
      const db = new Database(first.env.DATABASE_PATH as string)
      db.exec('PRAGMA busy_timeout = 5000')
      db.run('UPDATE users SET stripe_customer_id = ? WHERE id = ?', [customer.id, created.userId])
      db.run(
        "INSERT INTO subscriptions (id, user_id, stripe_subscription_id, status, plan_type, quantity, cancel_at_period_end, created_at, updated_at) VALUES (?, ?, ?, 'active', 'monthly', 1, 0, 1, 1)",
        [`row_${sub.id}`, created.userId, sub.id],
      )
      const callsBefore = em.calls.length

      const pending = fetch(`${first.url}/api/account`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${created.apiKey}` },
      }).catch(() => null)
      await waitFor(
        `step ${step}`,
        () =>
          (db.query('SELECT step FROM account_deletions').get() as { step: string } | null)?.step === step,
      )
      first.proc.kill('SIGKILL')
      await first.proc.exited
      await pending

      const second = await startBinary(binary, dir, env)
      await waitFor(
        'step done',
        () =>
          (db.query('SELECT step FROM account_deletions').get() as { step: string } | null)?.step === 'done',
      )
      expect((db.query('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check).toBe(
        'ok',
      )
      expect(db.query('SELECT count(*) AS n FROM users WHERE id = ?').get(created.userId)).toEqual({ n: 0 })
      expect(db.query('SELECT count(*) AS n FROM api_keys WHERE user_id = ?').get(created.userId)).toEqual({
        n: 0,
      })
      const receipt = db
        .query('SELECT user_id, counts, stripe_actions FROM account_deletions')
        .get() as Record<string, string | null>
      expect(receipt.user_id).toBeNull()
      expect(JSON.parse(receipt.counts as string)).toMatchObject({
        users: 1,
        teams: 1,
        api_keys: 1,
        subscriptions: 1,
      })
      expect(em.subscriptions.get(sub.id)?.status).toBe('canceled')
      expect(em.customers.get(customer.id)?.deleted).toBe(true)
      const calls = em.calls.slice(callsBefore)
      expect(
        calls.filter(
          (c) => c.method === 'DELETE' && c.path.startsWith('/v1/subscriptions/') && c.status === 200,
        ),
      ).toHaveLength(1)
      expect(
        calls.filter((c) => c.method === 'DELETE' && c.path.startsWith('/v1/customers/') && c.status === 200),
      ).toHaveLength(1)
      expect(
        (await fetch(`${second.url}/api/status`, { headers: { authorization: `Bearer ${created.apiKey}` } }))
          .status,
      ).toBe(401)
      db.close()
      expect(await second.stop('SIGTERM')).toBe(0)
    }, 40_000)
  }
})
