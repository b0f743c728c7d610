import { describe, expect, it } from 'bun:test'
import type { PgStore } from '../../db/pg/store'
import { createTestApp } from '../support/harness'
import { closeAll, type Instance, twoInstances } from '../support/pg-instances'
import { onPostgres } from '../support/test-database'

// Credentials, account status and hosted pages are cached on PostgreSQL too, under change epochs every
// instance reads after a request arrives (db/pg/change-epochs.ts): a change acknowledged by one
// instance is seen by every other on the next request. Registered in the PostgreSQL pass.

// The rate limits are not what these tests are about.
const ENV = { RATE_LIMIT_ENABLED: 'false' }

if (onPostgres)
  describe('caches across instances (PostgreSQL)', () => {
    it('caches a verified key: a change made behind the triggers goes unseen until an epoch moves', async () => {
      const t = createTestApp({ env: ENV })
      const u = await t.createUser()
      const [, b] = await twoInstances(t)
      expect((await b.request('GET', '/api/status', u.apiKey)).status).toBe(200)
      // Revoked with the triggers off (a superuser's replica mode): no epoch moves, so B keeps
      // answering from its cache — the cache is real, and the epoch is all that invalidates it.
      const sql = (t.store as PgStore).orm as unknown as { $client: Bun.SQL }
      await sql.$client.begin(async (tx) => {
        await tx`SET LOCAL session_replication_role = replica`
        await tx`UPDATE api_keys SET is_active = false, revoked_at = 1 WHERE user_id = ${u.user.id}`
      })
      expect((await b.request('GET', '/api/status', u.apiKey)).status).toBe(200)
      // Any change a trigger sees moves the credentials epoch: B reads the rows again.
      await t.exec('UPDATE users SET email_verified_at = email_verified_at WHERE id = ?', u.user.id)
      expect((await b.request('GET', '/api/status', u.apiKey)).status).toBe(401)
      closeAll([b])
    })

    it("refuses a key revoked through A on B's very next request, 100 times", async () => {
      const t = createTestApp({ env: ENV })
      const u = await t.createUser()
      const [a, b] = await twoInstances(t)
      const refusedAtOnce: number[] = []
      for (let round = 0; round < 100; round++) {
        const created = await a.request('POST', '/api/api-keys', u.apiKey, { name: `r${round}` })
        expect(created.status).toBe(201)
        const { key, keyId } = (await created.json()) as { key: string; keyId: string }
        // Cached on B (twice: the second is a hit).
        expect((await b.request('GET', '/api/status', key)).status).toBe(200)
        expect((await b.request('GET', '/api/status', key)).status).toBe(200)
        expect((await a.request('DELETE', `/api/api-keys/${keyId}`, u.apiKey)).status).toBe(204)
        refusedAtOnce.push((await b.request('GET', '/api/status', key)).status)
      }
      expect(refusedAtOnce).toEqual(Array(100).fill(401))
      closeAll([a, b])
    })

    it("refuses an account erased through A on B's next request, keys and sessions alike", async () => {
      const t = createTestApp({ env: ENV })
      const [a, b] = await twoInstances(t)
      for (let round = 0; round < 10; round++) {
        const u = await t.createUser()
        for (const token of [u.apiKey, u.session])
          expect((await b.request('GET', '/api/status', token)).status).toBe(200)
        expect((await a.request('DELETE', '/api/account', u.apiKey)).status).toBe(204)
        for (const token of [u.apiKey, u.session])
          expect((await b.request('GET', '/api/status', token)).status).toBe(401)
      }
      closeAll([a, b])
    })

    it('answers on B the status an app created through A just changed', async () => {
      const t = createTestApp({ env: ENV })
      const u = await t.createUser()
      const [a, b] = await twoInstances(t)
      const counts: number[] = []
      for (let n = 1; n <= 10; n++) {
        await b.request('GET', '/api/status', u.apiKey) // cached on B
        expect((await a.request('POST', '/api/apps', u.apiKey, { appName: `App ${n}` })).status).toBe(201)
        counts.push(
          ((await (await b.request('GET', '/api/status', u.apiKey)).json()) as { appCount: number }).appCount,
        )
      }
      expect(counts).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      closeAll([a, b])
    })

    /** A deployed app of a new user, through `via`: its slug and id. */
    async function deployed(t: ReturnType<typeof createTestApp>, via: Instance, name: string) {
      const u = await t.createUser()
      const created = await via.request('POST', '/api/apps', u.apiKey, { appName: name })
      const app = (await created.json()) as { appId: string; slug: string }
      expect((await via.request('POST', `/api/apps/${app.appId}/deploy`, u.apiKey)).status).toBe(200)
      return { u, ...app }
    }
    const page = async (via: Instance, slug: string) => {
      const r = await via.request('GET', `/sites/${slug}/`, '')
      await r.arrayBuffer()
      return r.status
    }

    it('caches hosted pages: a change made behind the triggers goes unseen until the hosting epoch moves', async () => {
      // Without the self-check, which would compare the hit with the rows and refuse it (500).
      const t = createTestApp({ env: { ...ENV, CHECK_CACHES: 'false' } })
      const [a, b] = await twoInstances(t)
      const site = await deployed(t, a, 'Cached Site')
      expect(await page(b, site.slug)).toBe(200)
      const sql = (t.store as PgStore).orm as unknown as { $client: Bun.SQL }
      await sql.$client.begin(async (tx) => {
        await tx`SET LOCAL session_replication_role = replica`
        await tx`UPDATE apps SET deployed = false WHERE id = ${site.appId}`
      })
      expect(await page(b, site.slug)).toBe(200)
      await t.exec('UPDATE sites SET search_indexing = search_indexing WHERE app_id = ?', site.appId)
      expect(await page(b, site.slug)).toBe(404)
      closeAll([b])
    })

    it("stops serving on B the pages of an app deleted or an account erased through A, on B's next request", async () => {
      const t = createTestApp({ env: ENV })
      const [a, b] = await twoInstances(t)
      const served: number[] = []
      for (let round = 0; round < 10; round++) {
        const site = await deployed(t, a, `Gone ${round}`)
        expect(await page(b, site.slug)).toBe(200)
        expect(await page(b, site.slug)).toBe(200) // a hit
        const gone =
          round % 2 === 0
            ? await a.request('DELETE', `/api/apps/${site.appId}`, site.u.apiKey)
            : await a.request('DELETE', '/api/account', site.u.apiKey)
        expect(gone.status).toBe(204)
        served.push(await page(b, site.slug))
      }
      expect(served).toEqual(Array(10).fill(404))
      closeAll([a, b])
    })
  })
