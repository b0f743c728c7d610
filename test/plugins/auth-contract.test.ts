import { beforeAll, describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { exec, one } from '../../db/query'
import { apiKeys, users } from '../../db/tables'
import { DAY } from '../../src/lib/clock'
import { hashUserId } from '../../src/lib/pseudonym'
import { expectUnauthorized, invalidCredentials, protectedRoutes, send } from '../support/auth-contract'
import { createTestApp, type TestUser } from '../support/harness'

// The shared auth contract (conventions.md): every protected route, every way a credential can be
// wrong. New routes are covered as soon as they are mounted.
const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
const routes = protectedRoutes(t)
let victim: TestUser

beforeAll(async () => {
  victim = await t.createUser()
})

describe('the auth contract', () => {
  it('covers the routes of both dialects', () => {
    expect(routes.some((r) => r.dialect === 'api')).toBe(true)
    expect(routes.some((r) => r.dialect === 'v1')).toBe(true)
    expect(routes.length).toBeGreaterThanOrEqual(14)
  })

  it('refuses a request without a token on every protected route (before any validation)', async () => {
    for (const route of routes)
      await expectUnauthorized(await send(t, route), route.dialect, `${route.method} ${route.path}`)
  })

  it('refuses malformed headers, unknown keys and bad JWTs on every protected route', async () => {
    const cases = await invalidCredentials(t, victim)
    for (const route of routes)
      for (const [label, header] of Object.entries(cases))
        await expectUnauthorized(
          await send(t, route, header),
          route.dialect,
          `${label} on ${route.method} ${route.path}`,
        )
  })

  it('refuses a revoked key and an expired rotated key', async () => {
    const u = await t.createUser()
    const revoked = await t.runtimeKey(u)
    const orbit = u.apiKey
    await exec(
      t.store.orm
        .update(apiKeys)
        .set({ isActive: false, revokedAt: t.clock.now() })
        .where(eq(apiKeys.userId, u.user.id)),
    )
    const rotated = await t.runtimeKey(u)
    await t.exec(
      'UPDATE api_keys SET expires_at = ? WHERE user_id = ? AND revoked_at IS NULL',
      t.clock.now() - 1,
      u.user.id,
    )
    for (const route of routes) {
      const key = route.dialect === 'api' ? orbit : revoked
      await expectUnauthorized(
        await send(t, route, `Bearer ${key}`),
        route.dialect,
        `revoked key on ${route.path}`,
      )
      if (route.dialect === 'v1')
        await expectUnauthorized(
          await send(t, route, `Bearer ${rotated}`),
          route.dialect,
          `expired key on ${route.path}`,
        )
    }
  })

  it('refuses a key of the other dialect, and any key where a session is required', async () => {
    const runtime = await t.runtimeKey(victim)
    for (const route of routes) {
      if (route.dialect === 'api')
        await expectUnauthorized(
          await send(t, route, `Bearer ${runtime}`),
          'api',
          `runtime key on ${route.path}`,
        )
      else {
        await expectUnauthorized(
          await send(t, route, `Bearer ${victim.apiKey}`),
          'v1',
          `orbit key on ${route.path}`,
        )
        if (!route.rule.accepts.includes('runtime'))
          await expectUnauthorized(
            await send(t, route, `Bearer ${runtime}`),
            'v1',
            `runtime key on ${route.path}`,
          )
      }
    }
  })

  it('accepts a runtime key on every sandbox route', async () => {
    const runtime = await t.runtimeKey(victim)
    const sandboxRoutes = routes.filter((r) => r.path.startsWith('/v1/sandboxes'))
    expect(sandboxRoutes.length).toBeGreaterThanOrEqual(7)
    for (const route of sandboxRoutes) {
      const r = await send(t, route, `Bearer ${runtime}`)
      expect({ route: `${route.method} ${route.path}`, status: r.status }).not.toMatchObject({ status: 401 })
      expect({ route: `${route.method} ${route.path}`, status: r.status }).not.toMatchObject({ status: 403 })
    }
  })

  it('refuses operator routes to a session that is not an operator', async () => {
    const admin = routes.filter((r) => r.rule.operator)
    expect(admin.length).toBeGreaterThanOrEqual(4)
    for (const route of admin) {
      const r = await send(t, route, `Bearer ${victim.session}`)
      expect({ route: route.path, status: r.status }).toEqual({ route: route.path, status: 403 })
      expect(((await r.json()) as any).code).toBe('operator_required')
    }
  })

  it('refuses every credential of a user whose erasure has begun, at once', async () => {
    const u = await t.createUser()
    const runtime = await t.runtimeKey(u)
    expect((await t.request('GET', '/api/status', { token: u.apiKey })).status).toBe(200)
    await exec(
      t.store.orm.update(users).set({ erasureRequestedAt: t.clock.now() }).where(eq(users.id, u.user.id)),
    )
    // Written behind the services' back: announce it as they do (db/change-epochs.ts).
    t.store.epochs.noteWrites()
    for (const route of routes) {
      const key = route.dialect === 'api' ? u.apiKey : runtime
      await expectUnauthorized(
        await send(t, route, `Bearer ${key}`),
        route.dialect,
        `erased key on ${route.path}`,
      )
      await expectUnauthorized(
        await send(t, route, `Bearer ${u.session}`),
        route.dialect,
        `erased JWT on ${route.path}`,
      )
    }
  })

  it('refuses the JWT of an erased user instead of re-creating the account', async () => {
    const u = await t.createUser()
    const oldToken = u.session
    await t.exec(
      "INSERT INTO account_deletions (id, user_hash, mode, step, requested_at, updated_at) VALUES ('d1', ?, 'immediate', 'done', ?, ?)",
      hashUserId(u.user.id),
      t.clock.now(),
      t.clock.now(),
    )
    for (const table of ['api_keys', 'teams', 'users'])
      await t.exec(
        `DELETE FROM ${table} WHERE ${table === 'users' ? 'id' : table === 'teams' ? 'owner_user_id' : 'user_id'} = ?`,
        u.user.id,
      )
    await expectUnauthorized(await t.request('GET', '/api/status', { token: oldToken }), 'api', 'erased JWT')
    await expectUnauthorized(await t.request('GET', '/api/status', { token: u.apiKey }), 'api', 'erased key')
    expect(await one(t.store.orm.select().from(users).where(eq(users.id, u.user.id)))).toBeUndefined()
    // A sign-in after the erasure is a new account, not the old one coming back.
    t.clock.advance(DAY)
    const fresh = await t.session(u.user.id, u.user.email)
    expect((await t.request('GET', '/api/account', { token: fresh })).status).toBe(200)
  })

  it('lets a soft-deleted session read, export and restore, and nothing else', async () => {
    const u = await t.createUser()
    const runtime = await t.runtimeKey(u)
    await exec(
      t.store.orm
        .update(users)
        .set({ softDeletedAt: t.clock.now(), deleteScheduledAt: t.clock.now() + 30 * DAY })
        .where(eq(users.id, u.user.id)),
    )
    expect((await t.request('GET', '/v1/account/me', { token: u.session })).status).toBe(200)
    const patch = await t.json('PATCH', '/v1/account/me', { token: u.session, body: { name: 'x' } })
    expect(patch.status).toBe(403)
    expect(patch.body.code).toBe('account_deleted')
    const keys = await t.json('GET', '/v1/keys', { token: u.session })
    expect(keys.body.code).toBe('account_deleted')
    const api = await t.json('GET', '/api/status', { token: u.session })
    expect(api.status).toBe(403)
    expect(api.body.error.code).toBe('FORBIDDEN')
    // Keys of a soft-deleted owner answer as session tokens do: 403 while it can be restored.
    const orbitKey = await t.json('GET', '/api/status', { token: u.apiKey })
    expect(orbitKey.status).toBe(403)
    expect(orbitKey.body.error.code).toBe('FORBIDDEN')
    const runtimeKey = await t.json('GET', '/v1/sandboxes', { token: runtime })
    expect(runtimeKey.status).toBe(403)
    expect(runtimeKey.body.code).toBe('account_deleted')
  })
})
