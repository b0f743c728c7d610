import { describe, expect, it } from 'bun:test'
import type { SQL } from 'bun'
import { createTestApp } from '../support/harness'
import { onPostgres } from '../support/test-database'
import { until } from '../support/until'

// After an erasure on PostgreSQL, neither the planner's statistics (pg_stats) nor dead row
// versions keep the account: VACUUM (ANALYZE), run again once an export's older snapshot is gone.
// Registered in the PostgreSQL pass (`bun run test:postgres`): a process builds one dialect.

if (onPostgres)
  describe('what an erasure leaves in PostgreSQL’s statistics and dead rows', () => {
    it('rebuilds pg_stats without the erased email and user id', async () => {
      const t = createTestApp()
      const u = await t.createUser({ email: `stats-${crypto.randomUUID()}@example.com` })
      const pool = (t.store.orm as unknown as { $client: SQL }).$client
      await t.createUser()
      await pool`ANALYZE users`
      const stats = async () => JSON.stringify(await pool`SELECT * FROM pg_stats WHERE tablename = 'users'`)
      expect(await stats()).toContain(u.user.email)
      expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
      await until(async () => !(await stats()).includes(u.user.email), 'pg_stats without the email')
      expect(await stats()).not.toContain(u.user.id)
      t.close()
    })

    it('vacuums again once a snapshot older than the erasure is closed', async () => {
      const t = createTestApp()
      const u = await t.createUser()
      await t.createUser()
      const pool = (t.store.orm as unknown as { $client: SQL }).$client
      // An export-like reader: a REPEATABLE READ snapshot taken before the erasure, held open.
      const reader = await pool.reserve()
      await reader`BEGIN ISOLATION LEVEL REPEATABLE READ`
      await reader`SELECT count(*) FROM users`
      expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
      const deadTuples = async () => {
        await pool`SELECT pg_stat_force_next_flush()`
        const [row] = await pool`SELECT n_dead_tup::int AS n FROM pg_stat_user_tables WHERE relname = 'users'`
        return Number(row.n)
      }
      // While the snapshot can still see the row, its dead version stays (a backend reports its
      // counts within about a second of going idle). The count alone is no proof: a VACUUM's own
      // report may replace it meanwhile; the snapshot still reading the row is.
      await until(async () => (await deadTuples()) > 0, 'the dead row version, kept for the snapshot')
      const [seen] = await reader`SELECT count(*)::int AS n FROM users WHERE id = ${u.user.id}`
      expect(seen.n).toBe(1)
      await reader`COMMIT`
      reader.release()
      await until(async () => (await deadTuples()) === 0, 'the dead row version to be vacuumed')
      t.close()
    }, 30_000)
  })
