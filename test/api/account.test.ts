import { describe, expect, it } from 'bun:test'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { eq } from 'drizzle-orm'
import { exec } from '../../db/query'
import { apps, sites, subscriptions, users } from '../../db/tables'
import { ApiStatus } from '../../src/projections/api'
import { createTestApp } from '../support/harness'

// GET /api/status skips Elysia's response validation (a ready Response): its answers are checked
// against the documented schema here instead.
const StatusSchema = TypeCompiler.Compile(ApiStatus)

describe('GET /api/status', () => {
  it('summarises an account without apps or subscription', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    const r = await t.json('GET', '/api/status', { token: u.apiKey })
    expect(r.status).toBe(200)
    expect(StatusSchema.Check(r.body)).toBe(true)
    expect(r.headers.get('content-type')).toBe('application/json;charset=utf-8')
    expect(r.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]+$/)
    expect(r.headers.get('ratelimit-policy')).toContain('"default"')
    expect(r.body).toEqual({
      subscription: 'none',
      planType: null,
      appCount: 0,
      hasPaymentMethod: false,
      hasApps: false,
    })
  })

  it('reads a trialing subscription as active and counts apps', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    await seedBilling(t, u.user.id, 'trialing')
    const r = await t.json('GET', '/api/status', { token: u.session })
    expect(StatusSchema.Check(r.body)).toBe(true)
    expect(r.body).toEqual({
      subscription: 'active',
      planType: 'yearly',
      appCount: 2,
      hasPaymentMethod: true,
      hasApps: true,
    })
  })
})

describe('GET /api/account', () => {
  it('answers both field generations for an account with a subscription', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    await exec(
      t.store.orm
        .update(users)
        .set({ displayName: 'Ada', avatarUrl: 'https://img.example/a.png' })
        .where(eq(users.id, u.user.id)),
    )
    await seedBilling(t, u.user.id, 'active')
    const r = await t.json('GET', '/api/account', { token: u.apiKey })
    expect(r.status).toBe(200)
    expect(r.body.profile).toEqual({
      email: u.user.email,
      displayName: 'Ada',
      photoURL: 'https://img.example/a.png',
      memberSince: u.user.createdAt,
    })
    expect(r.body.stats).toEqual({ appCount: 2, subscribedSites: 1, activeSubscriptions: 1 })
    expect(r.body.paymentMethod).toEqual({
      id: 'pm_1',
      brand: 'visa',
      last4: '4242',
      expMonth: 12,
      expYear: 2030,
    })
    expect(r.body.subscription).toEqual({
      id: 'sub_1',
      status: 'active',
      planType: 'yearly',
      quantity: 1,
      cancelAtPeriodEnd: false,
      currentPeriodEnd: 1800000000,
    })
    expect(r.body.subscriptions).toEqual([
      {
        appId: '-Napp1',
        appName: 'Deployed',
        iconUrl: 'https://cdn/icon.png',
        planType: 'yearly',
        status: 'active',
        cancelAtPeriodEnd: false,
        currentPeriodEnd: 1800000000,
      },
    ])
  })

  it('answers nulls and empty lists for a fresh account', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    const r = await t.json('GET', '/api/account', { token: u.apiKey })
    expect(r.body).toEqual({
      profile: { email: u.user.email, displayName: null, photoURL: null, memberSince: u.user.createdAt },
      stats: { appCount: 0, subscribedSites: 0, activeSubscriptions: 0 },
      paymentMethod: null,
      subscription: null,
      subscriptions: [],
    })
  })
})

/** Two apps (one deployed), a yearly subscription and a card, written straight to the mirror. */
async function seedBilling(t: ReturnType<typeof createTestApp>, userId: string, status: string) {
  const now = t.clock.now()
  await exec(
    t.store.orm
      .update(users)
      .set({
        stripeCustomerId: `cus_${userId.slice(0, 8)}`,
        paymentMethod: { id: 'pm_1', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2030 },
      })
      .where(eq(users.id, userId)),
  )
  await exec(
    t.store.orm.insert(apps).values([
      {
        id: '-Napp1',
        userId,
        appName: 'Deployed',
        slug: `deployed-${userId.slice(-6)}`,
        deployed: true,
        deployedAt: now,
        createdAt: now,
        updatedAt: now,
      },
      {
        id: '-Napp2',
        userId,
        appName: 'Draft',
        slug: `draft-${userId.slice(-6)}`,
        createdAt: now + 1,
        updatedAt: now + 1,
      },
    ]),
  )
  await exec(
    t.store.orm
      .insert(sites)
      .values({ appId: '-Napp1', iconUrl: 'https://cdn/icon.png', createdAt: now, updatedAt: now }),
  )
  await exec(
    t.store.orm.insert(subscriptions).values({
      id: 's1',
      userId,
      stripeSubscriptionId: 'sub_1',
      status,
      planType: 'yearly',
      quantity: 1,
      currentPeriodEnd: 1800000000,
      createdAt: now,
      updatedAt: now,
    }),
  )
}
