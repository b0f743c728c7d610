import { describe, expect, it } from 'bun:test'
import { Type } from '@sinclair/typebox'
import { eq } from 'drizzle-orm'
import { exec, many, one } from '../../db/query'
import { apps, sites } from '../../db/tables'
import { ApiAppSummary } from '../../src/projections/api'
import { expectAnswerToMatch } from '../support/answer-schema'
import { expectApiError } from '../support/envelopes'
import { createTestApp, type TestApp, type TestUser } from '../support/harness'
import { ownedRowIds, seedFullAccount } from '../support/seed'

const env = { RATE_LIMIT_ENABLED: 'false' }
const create = (t: TestApp, u: TestUser, appName: string) =>
  t.json('POST', '/api/apps', { token: u.apiKey, body: { appName } })

describe('/api/apps', () => {
  it('creates apps with time-ordered push ids and lists them oldest first', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    expect((await t.json('GET', '/api/apps', { token: u.apiKey })).body).toEqual([])
    const a = await create(t, u, 'Weather Pro')
    expect(a.status).toBe(201)
    expect(a.body).toEqual({
      appId: expect.stringMatching(/^[-0-9A-Za-z_]{20}$/),
      appName: 'Weather Pro',
      slug: 'weather-pro',
    })
    t.clock.advance(5)
    const b = await create(t, u, 'Notes')
    expect(b.body.appId > a.body.appId).toBe(true)
    const list = await t.json('GET', '/api/apps', { token: u.session })
    expectAnswerToMatch(Type.Array(ApiAppSummary), list.body)
    expect(list.body).toEqual([
      {
        appId: a.body.appId,
        appName: 'Weather Pro',
        slug: 'weather-pro',
        createdAt: t.clock.now() - 5,
        updatedAt: t.clock.now() - 5,
      },
      {
        appId: b.body.appId,
        appName: 'Notes',
        slug: 'notes',
        createdAt: t.clock.now(),
        updatedAt: t.clock.now(),
      },
    ])
    const detail = await t.json('GET', `/api/apps/${a.body.appId}`, { token: u.apiKey })
    expect(detail.status).toBe(200)
    expect(detail.body.appId).toBe(a.body.appId)
    expect(detail.body.site).toMatchObject({
      appName: 'Weather Pro',
      slug: 'weather-pro',
      deployed: false,
      searchIndexing: true,
      customDomain: null,
    })
  })

  it('derives slugs: accents folded, collisions numbered, reserved words and empty names avoided', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const v = await t.createUser()
    const slugs = []
    for (const name of [
      'Café Crème!',
      'Cafe creme',
      'café  CRÈME',
      'Admin',
      '日本語',
      '  --Hello__World--  ',
    ])
      slugs.push((await create(t, u, name)).body.slug)
    slugs.push((await create(t, v, 'Cafe Creme')).body.slug)
    expect(slugs).toEqual([
      'cafe-creme',
      'cafe-creme-2',
      'cafe-creme-3',
      'admin-2',
      'my-app',
      'hello-world',
      'cafe-creme-4',
    ])
  })

  it('refuses an 11th app with APP_LIMIT_REACHED', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    for (let i = 0; i < 10; i++) expect((await create(t, u, `App ${i}`)).status).toBe(201)
    const r = await create(t, u, 'One more')
    expect(r.status).toBe(400)
    expectApiError(r.body, 'APP_LIMIT_REACHED')
  })

  it('validates the name', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    for (const appName of ['', 'x'.repeat(201), 42, null]) {
      const r = await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName } })
      expect(r.status).toBe(400)
      expect(expectApiError(r.body, 'VALIDATION_FAILED').details[0].path).toEqual(['appName'])
    }
    expect((await create(t, u, 'x'.repeat(200))).status).toBe(201)
  })

  it('is limited to 5 creations an hour', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    for (let i = 0; i < 5; i++) expect((await create(t, u, `A${i}`)).status).toBe(201)
    const r = await create(t, u, 'A5')
    expect(r.status).toBe(429)
    expectApiError(r.body, 'RATE_LIMITED')
  })

  it("answers 404, never 403, for another user's app on every app route", async () => {
    const t = createTestApp({ env })
    const owner = await t.createUser()
    const intruder = await t.createUser()
    const { appId } = (await create(t, owner, 'Private')).body
    await t.request('PUT', `/api/apps/${appId}/support-page`, {
      token: owner.apiKey,
      body: { contactEmail: 'a@b.co' },
    })
    const calls: [string, string, unknown?][] = [
      ['GET', ''],
      ['DELETE', ''],
      ['GET', '/site'],
      ['PATCH', '/site', { appName: 'stolen' }],
      ['GET', '/site/smart-banner'],
      ['PUT', '/site/smart-banner', { appStoreId: '123' }],
      ['GET', '/policy'],
      ['PUT', '/policy', {}],
      ['GET', '/support-page'],
      ['PUT', '/support-page', { contactEmail: 'x@y.co' }],
      ['GET', '/deletion-page'],
      ['GET', '/testflight-page'],
      ['GET', '/aasa'],
      ['GET', '/privacy-manifest'],
      ['GET', '/policy-versions'],
      ['GET', '/policy-versions/whatever'],
    ]
    for (const [method, suffix, body] of calls) {
      const r = await t.json(method, `/api/apps/${appId}${suffix}`, { token: intruder.apiKey, body })
      expect({ call: `${method} ${suffix}`, status: r.status }).toEqual({
        call: `${method} ${suffix}`,
        status: 404,
      })
      expectApiError(r.body, 'NOT_FOUND')
    }
    const icon = await t.request('POST', `/api/apps/${appId}/site/icon`, {
      token: intruder.apiKey,
      rawBody: new Uint8Array([0x89, 0x50]),
      headers: { 'content-type': 'image/png' },
    })
    expect(icon.status).toBe(404)
    const wk = await t.request('POST', `/api/apps/${appId}/well-known/apple-app-site-association`, {
      token: intruder.apiKey,
      rawBody: 'x',
      headers: { 'content-type': 'text/plain' },
    })
    expect([400, 404]).toContain(wk.status)
    expect((await t.json('GET', `/api/apps/${appId}`, { token: owner.apiKey })).body.appName).toBe('Private')
  })

  it('deletes an app with everything under it, its files, and frees its slug and domain', async () => {
    const t = createTestApp({ env: { ...env, STORAGE_DIR: `/tmp/custodian-apps-${crypto.randomUUID()}` } })
    const u = await t.createUser()
    const seeded = await seedFullAccount(t, u)
    const [doomed, kept] = seeded.appIds as [string, string]
    await exec(
      t.store.orm.update(sites).set({ customDomain: 'doomed.example.com' }).where(eq(sites.appId, doomed)),
    )
    await t.deps.storage.write(t.deps.storage.appPath(doomed, 'icon.png'), 'x')
    const slug = (await one(t.store.orm.select().from(apps).where(eq(apps.id, doomed))))?.slug as string
    const rowsOf = async (appId: string) => {
      const counts: Record<string, number> = {}
      for (const table of ['sites', 'policies', 'app_pages', 'policy_versions', 'deploys'])
        counts[table] = (
          await t.row<{ n: number }>(`SELECT count(*) AS n FROM ${table} WHERE app_id = ?`, appId)
        )?.n as number
      return counts
    }
    const keptBefore = await rowsOf(kept)
    expect(Object.values(await rowsOf(doomed)).every((n) => n > 0)).toBe(true)
    const r = await t.request('DELETE', `/api/apps/${doomed}`, { token: u.apiKey })
    expect(r.status).toBe(204)
    expect(Object.values(await rowsOf(doomed))).toEqual([0, 0, 0, 0, 0])
    expect(await rowsOf(kept)).toEqual(keptBefore)
    expect((await ownedRowIds(t, u.user.id)).apps).toEqual([[kept]])
    expect(await t.deps.storage.exists(t.deps.storage.appPath(doomed))).toBe(false)
    expect((await t.request('GET', `/api/apps/${doomed}`, { token: u.apiKey })).status).toBe(404)
    // Slug and domain are free for someone else at once.
    const other = await t.createUser()
    const mine = await create(t, other, 'Whatever')
    expect(
      (await t.request('PATCH', `/api/apps/${mine.body.appId}/site`, { token: other.apiKey, body: { slug } }))
        .status,
    ).toBe(200)
    await exec(
      t.store.orm
        .update(sites)
        .set({ customDomain: 'doomed.example.com' })
        .where(eq(sites.appId, mine.body.appId)),
    )
  })

  it('gives 20 apps of the same name, created concurrently by 20 users, 20 distinct slugs', async () => {
    const t = createTestApp({ env })
    const users = await Promise.all(Array.from({ length: 20 }, () => t.createUser()))
    const answers = await Promise.all(users.map((u) => create(t, u, 'Shared Name')))
    expect(answers.every((a) => a.status === 201)).toBe(true)
    const slugs = answers.map((a) => a.body.slug)
    expect(new Set(slugs).size).toBe(20)
    expect(slugs).toContain('shared-name')
    expect(await many(t.store.orm.select().from(apps))).toHaveLength(20)
  })
})
