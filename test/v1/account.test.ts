import { describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { exec, one } from '../../db/query'
import { quotaUsage, users } from '../../db/tables'
import { DAY } from '../../src/lib/clock'
import { utcDay } from '../../src/lib/time'
import { V1Account } from '../../src/routes/v1/account'
import { expectAnswerToMatch } from '../support/answer-schema'
import { expectV1Error, V1_USER_FIELDS } from '../support/envelopes'
import { createTestApp } from '../support/harness'

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

describe('GET /v1/account/me', () => {
  it('answers the user, team, tier, last 30 days of usage and the session email', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    const now = t.clock.now()
    for (const daysAgo of [0, 1, 29, 30, 45])
      await exec(
        t.store.orm.insert(quotaUsage).values({
          teamId: u.team.id,
          usageDate: utcDay(now - daysAgo * DAY),
          sandboxCreates: daysAgo + 1,
          gbHours: 0.5,
          updatedAt: now,
        }),
      )
    const r = await t.json('GET', '/v1/account/me', { token: u.session })
    expect(r.status).toBe(200)
    expectAnswerToMatch(V1Account, r.body)
    expect(Object.keys(r.body)).toEqual([
      'user',
      'team',
      'quota_tier',
      'quota_usage',
      'email_verified',
      'session_email',
    ])
    expect(Object.keys(r.body.user).sort()).toEqual(V1_USER_FIELDS)
    expect(r.body.user).toMatchObject({
      id: u.user.id,
      email: u.user.email,
      tier: 'free',
      quota_tier_id: 'free',
      is_operator: false,
      abuse_flags: {},
    })
    expect(r.body.user.created_at).toMatch(RFC3339)
    expect(r.body.team).toMatchObject({
      id: u.team.id,
      owner_user_id: u.user.id,
      quota_tier_id: 'free',
      soft_deleted_at: null,
    })
    expect(r.body.quota_tier).toEqual({
      id: 'free',
      display_name: 'Free',
      max_concurrent_sandboxes: 5,
      daily_sandbox_creates: 100,
      daily_gb_hours: 20,
    })
    expect(r.body.quota_usage.map((q: any) => q.sandbox_creates)).toEqual([1, 2, 30])
    expect(r.body.quota_usage[0]).toEqual({
      team_id: u.team.id,
      usage_date: utcDay(now),
      sandbox_creates: 1,
      gb_hours: 0.5,
      updated_at: new Date(now).toISOString(),
    })
    expect(r.body.email_verified).toBe(true)
    expect(r.body.session_email).toBe(u.user.email)
  })
})

describe('PATCH /v1/account/me', () => {
  it('updates and clears profile fields, answering the account', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    t.clock.advance(5000)
    const set = await t.json('PATCH', '/v1/account/me', {
      token: u.session,
      body: { display_name: 'Grace', avatar_url: 'https://img.example/g.png', name: 'Grace Hopper' },
    })
    expect(set.status).toBe(200)
    expectAnswerToMatch(V1Account, set.body)
    expect(set.body.user).toMatchObject({
      display_name: 'Grace',
      avatar_url: 'https://img.example/g.png',
      name: 'Grace Hopper',
      updated_at: new Date(t.clock.now()).toISOString(),
    })
    const cleared = await t.json('PATCH', '/v1/account/me', { token: u.session, body: { avatar_url: null } })
    expectAnswerToMatch(V1Account, cleared.body)
    expect(cleared.body.user).toMatchObject({ display_name: 'Grace', avatar_url: null })
    expect((await one(t.store.orm.select().from(users).where(eq(users.id, u.user.id))))?.avatarUrl).toBeNull()
  })

  it('refuses invalid values field by field and changes nothing', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    const cases: [Record<string, unknown>, string][] = [
      [{ avatar_url: 'ftp://files.example/a.png' }, 'avatar_url'],
      [{ avatar_url: `https://x.example/${'a'.repeat(2048)}` }, 'avatar_url'],
      [{ display_name: 'x'.repeat(201) }, 'display_name'],
      [{ name: 'y'.repeat(201) }, 'name'],
      [{ display_name: 12 }, 'display_name'],
    ]
    for (const [body, field] of cases) {
      const r = await t.json('PATCH', '/v1/account/me', { token: u.session, body })
      expect(r.status).toBe(400)
      expectV1Error(r.body, 'invalid_fields', r.headers)
      expect(r.body.error_detail.fields[0].field).toBe(field)
    }
    const row = await one(t.store.orm.select().from(users).where(eq(users.id, u.user.id)))
    expect([row?.displayName, row?.avatarUrl, row?.name]).toEqual([null, null, null])
  })
})
