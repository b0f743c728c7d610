import { describe, expect, it } from 'bun:test'
import { signIn } from '../support/console'
import { createTestApp } from '../support/harness'
import { closeAll, instances } from '../support/pg-instances'
import { onPostgres } from '../support/test-database'

// Several instances share one database only on PostgreSQL.
const describePostgres = onPostgres ? describe : describe.skip
describePostgres(
  `console sessions across instances${onPostgres ? '' : ' [PostgreSQL only: SQLite serves one instance]'}`,
  () => {
    it('a session opened on one instance works on the others, and signing out on one ends it on all', async () => {
      const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
      const operator = await t.createUser({ operator: true })
      const user = await t.createUser()
      const session = await signIn(t, operator.apiKey)
      const all = await instances(t, 3)
      try {
        const get = (i: number, path: string) =>
          (all[i] as (typeof all)[number]).handle(
            new Request(`http://localhost${path}`, { headers: { cookie: session.cookie } }),
          )
        const post = (i: number, path: string, fields: Record<string, string>) =>
          (all[i] as (typeof all)[number]).handle(
            new Request(`http://localhost${path}`, {
              method: 'POST',
              headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({ csrf: session.csrf, ...fields }).toString(),
            }),
          )
        for (const i of [1, 2]) expect((await get(i, '/console')).status).toBe(200)
        // A form rendered by one instance is accepted by another (the token derives from the shared key).
        expect(
          (await post(2, `/console/accounts/${user.user.id}/legal-hold`, { reason: 'audit' })).status,
        ).toBe(303)
        expect(await t.rows('SELECT user_id FROM legal_holds WHERE released_at IS NULL')).toEqual([
          { user_id: user.user.id },
        ])
        expect((await post(1, '/console/sign-out', {})).status).toBe(303)
        for (const i of [0, 1, 2]) expect((await get(i, '/console')).status).toBe(303)
      } finally {
        closeAll(all)
      }
    })
  },
)
