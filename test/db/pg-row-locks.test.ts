import { describe, expect, it } from 'bun:test'
import { SQL } from 'bun'
import { eq } from 'drizzle-orm'
import { EpochTopic } from '../../db/change-epochs'
import type { PgStore } from '../../db/pg/store'
import { exec } from '../../db/query'
import { lockAccount } from '../../db/row-locks'
import { type Tx, writeTransaction } from '../../db/store'
import { apps, sites, users } from '../../db/tables'
import { countOwnedRows } from '../../src/services/deletion'
import { MAX_ACTIVE_KEYS } from '../../src/services/keys'
import { createTestApp, type TestApp } from '../support/harness'
import { closeAll, type Instance, instances, twoInstances } from '../support/pg-instances'
import { onPostgres } from '../support/test-database'

// Write transactions on PostgreSQL run in parallel: each invariant is held by the row that owns it
// (db/row-locks.ts; the table in docs/architecture.md, "Who holds each invariant"). Three
// "instances" here are three stores — three connection pools — on one database, each with its
// own app, as three `serve` processes would be. Registered in the PostgreSQL pass.

const ENV = { RATE_LIMIT_DEFAULT: '1000000/60', RATE_LIMIT_APPS_CREATE: '1000000/60' }

/** Settles `promise`, or answers 'pending' if it has not settled by the time `others` have. */
const settledBefore = async (promise: Promise<unknown>, others: Promise<unknown>) => {
  let done = false
  promise.then(
    () => {
      done = true
    },
    () => {
      done = true
    },
  )
  await others
  await Bun.sleep(0)
  return done
}

/**
 * Two transactions each take `take` on one of two accounts, wait for each other, then on the
 * other's: a deadlock. Answers how many times each ran, sorted, once both committed.
 */
async function deadlockAttempts(t: TestApp, take: (tx: Tx, userId: string) => unknown) {
  const [a, b] = [await t.createUser(), await t.createUser()]
  const attempts = [0, 0]
  let arrived = 0
  const { promise: barrier, resolve: bothHoldOne } = Promise.withResolvers<void>()
  const crosswise = (index: number, firstId: string, secondId: string) =>
    writeTransaction(t.store, async (tx) => {
      attempts[index] = (attempts[index] ?? 0) + 1
      await take(tx, firstId)
      if (attempts[index] === 1) {
        if (++arrived === 2) bothHoldOne()
        await barrier
      }
      await take(tx, secondId)
      return index
    })
  expect(await Promise.all([crosswise(0, a.user.id, b.user.id), crosswise(1, b.user.id, a.user.id)])).toEqual(
    [0, 1],
  )
  return attempts.toSorted()
}

if (onPostgres)
  describe('row locks instead of one writer (PostgreSQL)', () => {
    it("lets other accounts write through another instance while one account's row is held", async () => {
      const t = createTestApp({ env: ENV })
      const [a, b] = [await t.createUser(), await t.createUser()]
      const [first, second] = await twoInstances(t)
      const { promise: held, resolve: release } = Promise.withResolvers<void>()
      const { promise: isLocked, resolve: locked } = Promise.withResolvers<void>()
      // A slow transaction holding account A's row, on the first instance.
      const slow = writeTransaction(first.store, async (tx: Tx) => {
        await lockAccount(tx, a.user.id, 'update')
        locked()
        await held
      })
      await isLocked
      const started = performance.now()
      const others = Promise.all(
        Array.from({ length: 8 }, (_, n) =>
          second.request('POST', '/api/apps', b.apiKey, { appName: `Other ${n}` }).then((r) => r.status),
        ),
      )
      // Account A's own app create waits for the row (the lock is real)…
      const own = second.request('POST', '/api/apps', a.apiKey, { appName: 'Own' })
      // …while B's creates all finish with A's row still held.
      expect(await settledBefore(others, others)).toBe(true)
      expect(await others).toEqual(Array(8).fill(201))
      const tookMs = performance.now() - started
      expect(await settledBefore(own, Bun.sleep(200))).toBe(false)
      release()
      await slow
      expect((await own).status).toBe(201)
      console.log(`other accounts' 8 app creates while one account's row was held: ${tookMs.toFixed(0)} ms`)
      closeAll([first, second])
    })

    it("lets another account's write raise a change epoch while a long transaction holds its backend's shard", async () => {
      const t = createTestApp({ env: ENV })
      const [a, b] = [await t.createUser(), await t.createUser()]
      await (t.store as PgStore).ready
      // Two connections whose backends map to the same shard of the change-epoch counters.
      const holder = new SQL({ url: t.store.path, max: 1 })
      const [{ pid }] = await holder`SELECT pg_backend_pid() AS pid`
      let peer: SQL | null = null
      for (let i = 0; i < 500 && peer === null; i++) {
        const c = new SQL({ url: t.store.path, max: 1 })
        const [{ pid: other }] = await c`SELECT pg_backend_pid() AS pid`
        if (other % 16 === pid % 16) peer = c
        else await c.close()
      }
      if (peer === null) throw new Error('no connection on the same shard in 500 tries')
      // Raising the account-status topic: a statement-level trigger on users.payment_method.
      const raise = (sql: SQL, userId: string) =>
        sql`UPDATE users SET payment_method = payment_method WHERE id = ${userId}`
      const { promise: held, resolve: release } = Promise.withResolvers<void>()
      const { promise: raised, resolve: hasRaised } = Promise.withResolvers<void>()
      const long = holder.begin(async (tx) => {
        await raise(tx as unknown as SQL, a.user.id)
        hasRaised()
        await held
      })
      await raised
      const before = await t.store.epochs.fresh(EpochTopic.accountStatus)
      const other = raise(peer, b.user.id)
      expect(await settledBefore(other, Bun.sleep(1000))).toBe(true)
      expect(await t.store.epochs.fresh(EpochTopic.accountStatus)).toBe((before as number) + 1)
      release()
      await long
      expect(await t.store.epochs.fresh(EpochTopic.accountStatus)).toBe((before as number) + 2)
      await Promise.all([holder.close(), peer.close()])
    })

    it('never lets 96 concurrent creates through 3 instances exceed the app or key limits of one account', async () => {
      const t = createTestApp({ env: ENV })
      const u = await t.createUser()
      const all = await instances(t, 3)
      const apps = await Promise.all(
        Array.from({ length: 96 }, (_, n) =>
          (all[n % 3] as Instance)
            .request('POST', '/api/apps', u.apiKey, { appName: `Race ${n}` })
            .then((r) => r.status),
        ),
      )
      expect(apps.filter((s) => s === 201)).toHaveLength(10)
      expect(apps.filter((s) => s !== 201 && s !== 400 && s !== 409 && s !== 403)).toEqual([])
      expect(await t.row('SELECT count(*) AS n FROM apps WHERE user_id = ?', u.user.id)).toEqual({ n: 10 })
      const keys = await Promise.all(
        Array.from({ length: 96 }, (_, n) =>
          (all[n % 3] as Instance)
            .request('POST', '/api/api-keys', u.apiKey, { name: `k${n}` })
            .then((r) => r.status),
        ),
      )
      expect(keys.filter((s) => s === 201).length).toBe(MAX_ACTIVE_KEYS - 1) // one key exists already
      expect(
        await t.row(
          'SELECT count(*) AS n FROM api_keys WHERE user_id = ? AND is_active AND revoked_at IS NULL',
          u.user.id,
        ),
      ).toEqual({ n: MAX_ACTIVE_KEYS })
      closeAll(all)
    })

    it('gives 48 accounts creating the same app name at once 48 different slugs', async () => {
      const t = createTestApp({ env: ENV })
      const users = await Promise.all(Array.from({ length: 48 }, () => t.createUser()))
      const all = await instances(t, 3)
      const created = await Promise.all(
        users.map(async (u, n) => {
          const r = await (all[n % 3] as Instance).request('POST', '/api/apps', u.apiKey, { appName: 'Same' })
          return { status: r.status, body: (await r.json()) as { slug?: string; app?: { slug?: string } } }
        }),
      )
      expect(created.map((c) => c.status)).toEqual(Array(48).fill(201))
      const slugs = await t.rows<{ slug: string }>("SELECT slug FROM apps WHERE slug LIKE 'same%'")
      expect(new Set(slugs.map((s) => s.slug)).size).toBe(48)
      closeAll(all)
    })

    it('keeps the sandbox quota of one team under 96 creates through 3 instances', async () => {
      const t = createTestApp({ env: ENV })
      const u = await t.createUser()
      await t.exec(
        "INSERT INTO quota_tiers (id, display_name, daily_sandbox_creates, max_concurrent_sandboxes, daily_gb_hours) VALUES ('race', 'race', 1000, 25, 1000000)",
      )
      await t.exec("UPDATE teams SET quota_tier_id = 'race' WHERE id = ?", u.team.id)
      const runtime = await t.runtimeKey(u)
      const all = await instances(t, 3)
      const statuses = await Promise.all(
        Array.from({ length: 96 }, (_, n) =>
          (all[n % 3] as Instance).request('POST', '/v1/sandboxes', runtime, {}).then((r) => r.status),
        ),
      )
      expect(statuses.filter((s) => s === 201)).toHaveLength(25)
      expect(statuses.filter((s) => s !== 201 && s !== 429)).toEqual([])
      expect(await t.row('SELECT count(*) AS n FROM sandboxes WHERE team_id = ?', u.team.id)).toEqual({
        n: 25,
      })
      expect(await t.row('SELECT active FROM team_sandbox_totals WHERE team_id = ?', u.team.id)).toEqual({
        active: 25,
      })
      closeAll(all)
    })

    it('leaves nothing of an account erased through one instance while two others write for it', async () => {
      const t = createTestApp({ env: ENV })
      const all = await instances(t, 3)
      for (let round = 0; round < 3; round++) {
        const u = await t.createUser()
        const runtime = await t.runtimeKey(u)
        const writes = Array.from({ length: 24 }, (_, n) => {
          const via = all[1 + (n % 2)] as Instance
          return n % 3 === 0
            ? via.request('POST', '/v1/sandboxes', runtime, {})
            : n % 3 === 1
              ? via.request('POST', '/api/apps', u.apiKey, { appName: `Late ${n}` })
              : via.request('POST', '/api/api-keys', u.apiKey, { name: `late${n}` })
        })
        const erased = (all[0] as Instance).request('DELETE', '/api/account', u.apiKey)
        const answers = await Promise.all([erased, ...writes])
        expect((answers[0] as Response).status).toBe(204)
        // Each write either landed before the erasure took the account (and was erased with it)
        // or was refused; none failed.
        for (const r of answers.slice(1)) expect(r.status).toBeLessThan(500)
        const left = Object.entries(await countOwnedRows(t.store, u.user.id)).filter(([, n]) => n > 0)
        expect(left).toEqual([])
      }
      closeAll(all)
    })

    it("erases 8 accounts at once through an instance with 4 connections: the erasures' own connections never take the whole pool", async () => {
      const t = createTestApp({ env: ENV })
      const [, small] = await twoInstances(t) // a pool of 4
      const users = await Promise.all(Array.from({ length: 8 }, () => t.createUser()))
      for (const [n, u] of users.entries()) {
        const app = await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: `Site ${n}` } })
        const appId = (app.body as { appId: string }).appId
        // Stored files: an erasure removes them through the pool, beside its own connection.
        expect((await t.json('POST', `/api/apps/${appId}/deploy`, { token: u.apiKey })).status).toBe(200)
      }
      const answers = await Promise.all(users.map((u) => small.request('DELETE', '/api/account', u.apiKey)))
      expect(answers.map((r) => r.status)).toEqual(Array(8).fill(204))
      for (const u of users)
        expect(Object.entries(await countOwnedRows(t.store, u.user.id)).filter(([, n]) => n > 0)).toEqual([])
      expect(await t.row("SELECT count(*) AS n FROM stored_files WHERE path LIKE 'apps/%'")).toEqual({ n: 0 })
      closeAll([small])
    })

    it('makes an erasure wait for a write holding the account, then erases what that write stored', async () => {
      const t = createTestApp({ env: ENV })
      const u = await t.createUser()
      const [first, second] = await twoInstances(t)
      const { promise: held, resolve: release } = Promise.withResolvers<void>()
      const { promise: isChecked, resolve: checked } = Promise.withResolvers<void>()
      // A write on the first instance that found the account live and has not committed yet.
      const write = writeTransaction(first.store, async (tx: Tx) => {
        expect(await lockAccount(tx, u.user.id)).toBe(true)
        checked()
        await held
        const now = t.clock.now()
        await exec(
          tx.insert(apps).values({
            id: 'late-app',
            userId: u.user.id,
            appName: 'Late',
            slug: 'late-app',
            createdAt: now,
            updatedAt: now,
          }),
        )
        await exec(tx.insert(sites).values({ appId: 'late-app', createdAt: now, updatedAt: now }))
      })
      await isChecked
      const erased = second.request('DELETE', '/api/account', u.apiKey)
      expect(await settledBefore(erased, Bun.sleep(300))).toBe(false)
      release()
      await write
      expect((await erased).status).toBe(204)
      const left = Object.entries(await countOwnedRows(t.store, u.user.id)).filter(([, n]) => n > 0)
      expect(left).toEqual([])
      closeAll([first, second])
    })

    it('runs the victim of a deadlock again: both transactions commit', async () => {
      const t = createTestApp({ env: ENV })
      // PostgreSQL aborts one of them as the deadlock's victim; the store runs it again.
      expect(await deadlockAttempts(t, (tx, id) => lockAccount(tx, id, 'update'))).toEqual([1, 2])
    })

    it('runs the victim again when the deadlock is met inside a Drizzle query (its error wraps the cause)', async () => {
      const t = createTestApp({ env: ENV })
      const touch = (tx: Tx, id: string) =>
        exec(tx.update(users).set({ updatedAt: t.clock.now() }).where(eq(users.id, id)))
      expect(await deadlockAttempts(t, touch)).toEqual([1, 2])
    })
  })
