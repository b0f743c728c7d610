import { afterEach, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { and, eq } from 'drizzle-orm'
import { OWNED_TABLES } from '../../db/ownership'
import { exec, many } from '../../db/query'
import { apiKeys, apps, auditEvents, sandboxes, users } from '../../db/tables'
import { hashUserId } from '../../src/lib/pseudonym'
import { apiExportPlan } from '../../src/projections/export-api'
import { v1ExportPlan } from '../../src/projections/export-v1'
import { V1_USER_FIELDS } from '../support/envelopes'
import { createTestApp, type TestApp, type TestUser } from '../support/harness'
import { seedFullAccount } from '../support/seed'

const env = { RATE_LIMIT_ENABLED: 'false' }
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const fileApp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-export-'))
  dirs.push(dir)
  return createTestApp({ env, databasePath: join(dir, 'db.sqlite') })
}

async function exportOf(t: TestApp, u: TestUser, dialect: 'api' | 'v1') {
  const r = await t.request('GET', dialect === 'api' ? '/api/account/export' : '/v1/account/export', {
    token: dialect === 'api' ? u.apiKey : u.session,
  })
  const text = await r.text()
  return { status: r.status, headers: r.headers, text, body: JSON.parse(text) as Record<string, any> }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

describe('account export: completeness', () => {
  for (const dialect of ['api', 'v1'] as const) {
    it(`${dialect}: contains every row the registry reaches, and the manifest counts them`, async () => {
      const t = createTestApp({ env })
      const u = await t.createUser()
      const seeded = await seedFullAccount(t, u)
      const { status, body, text } = await exportOf(t, u, dialect)
      expect(status).toBe(200)
      const plan = dialect === 'api' ? apiExportPlan : v1ExportPlan
      expect(Object.keys(body).at(-1)).toBe('_manifest')
      for (const section of plan.sections) expect(body).toHaveProperty(section)
      for (const table of OWNED_TABLES) {
        const rows = seeded.ids[table.name] as string[][]
        // The seeder must reach every owned table: a new table without rows here fails loudly.
        expect({ table: table.name, seeded: rows.length > 0 }).toEqual({ table: table.name, seeded: true })
        if ('notExported' in table.export) continue
        const section = table.export[dialect]
        expect({ table: table.name, section, count: body._manifest.counts[section] }).toEqual({
          table: table.name,
          section,
          count: rows.length,
        })
        const sectionText = JSON.stringify(body[section])
        for (const idParts of rows)
          for (const part of idParts)
            expect({
              table: table.name,
              id: part,
              present: sectionText.includes(
                dialect === 'api' && table.name === 'app_pages' && part === 'privacy_manifest'
                  ? 'privacyManifest'
                  : part,
              ),
            }).toEqual({ table: table.name, id: part, present: true })
      }
      expect(text.length).toBeGreaterThan(1000)
    })
  }
})

describe('account export: isolation', () => {
  it('contains only its owner’s rows when users have near-identical data', async () => {
    const t = createTestApp({ env })
    const accounts = []
    for (let i = 0; i < 4; i++) {
      const u = await t.createUser({ email: `twin${i}@example.com` })
      accounts.push({
        u,
        seeded: await seedFullAccount(t, u, {
          appNames: ['My App', 'My App 2'],
          metadata: { env: 'prod', owner: 'same' },
        }),
      })
    }
    for (const dialect of ['api', 'v1'] as const)
      for (const { u, seeded } of accounts) {
        const { text } = await exportOf(t, u, dialect)
        for (const other of accounts) {
          if (other.u === u) continue
          expect(text).not.toContain(other.u.user.email)
          expect(text).not.toContain(other.u.user.id)
          expect(text).not.toContain(other.u.team.id)
          // A row's first id column is its own id or its owner's (composite keys: app, team).
          for (const [table, rows] of Object.entries(other.seeded.ids))
            for (const [id] of rows)
              expect({ dialect, table, leaked: text.includes(id as string) }).toEqual({
                dialect,
                table,
                leaked: false,
              })
        }
        expect(text).toContain(u.user.email)
        for (const appId of seeded.appIds) expect(text).toContain(appId)
      }
  })
})

describe('account export: shapes of the seed pages', () => {
  it('/api: documented fields with documented types, keyed by appId', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const seeded = await seedFullAccount(t, u)
    const { body, headers } = await exportOf(t, u, 'api')
    expect(headers.get('content-type')).toContain('application/json')
    expect(headers.get('content-disposition')).toBe('attachment; filename="orbitkit-export.json"')
    expect(Object.keys(body).slice(0, 5)).toEqual(['exportedAt', 'user', 'apps', 'sites', 'policies'])
    expect(body.exportedAt).toMatch(RFC3339)
    expect(typeof body.user.email).toBe('string')
    expect(Number.isInteger(body.user.createdAt)).toBe(true)
    expect(body.user.createdAt).toBe(u.user.createdAt)
    expect(body.user.appCount).toBe(2)
    for (const section of ['apps', 'sites', 'policies'])
      expect(Object.keys(body[section]).sort()).toEqual([...seeded.appIds].sort())
    const appId = seeded.appIds[0] as string
    expect(body.apps[appId]).toMatchObject({ appId, appName: 'My App', deployed: true })
    expect(Object.keys(body.sites[appId])).toEqual(
      expect.arrayContaining([
        'appName',
        'slug',
        'wellKnownFiles',
        'searchIndexing',
        'subscriptionId',
        'deployed',
        'createdAt',
      ]),
    )
    expect(Object.keys(body.pages[appId]).sort()).toEqual([
      'aasa',
      'deletion',
      'privacyManifest',
      'support',
      'testflight',
    ])
  })

  it('/v1: documented fields with RFC 3339 times, YYYY-MM-DD usage dates and an abuse_flags object', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await seedFullAccount(t, u)
    const { body, headers } = await exportOf(t, u, 'v1')
    expect(headers.get('content-disposition')).toBe('attachment; filename="account-export.json"')
    expect(Object.keys(body).slice(0, 6)).toEqual([
      'user',
      'team',
      'quota_tier',
      'quota_usage',
      'api_keys',
      'sandboxes',
    ])
    expect(Object.keys(body.user).sort()).toEqual(V1_USER_FIELDS)
    expect(body.user.created_at).toMatch(RFC3339)
    expect(body.user.abuse_flags).toEqual({})
    expect(Object.keys(body.team).sort()).toEqual([
      'created_at',
      'id',
      'name',
      'owner_user_id',
      'quota_tier_id',
      'slug',
      'soft_deleted_at',
      'updated_at',
    ])
    expect(Object.keys(body.quota_tier).sort()).toEqual([
      'daily_gb_hours',
      'daily_sandbox_creates',
      'display_name',
      'id',
      'max_concurrent_sandboxes',
    ])
    for (const row of body.quota_usage) {
      expect(row.usage_date).toMatch(/^\d{4}-\d{2}-\d{2}$/)
      expect(row.updated_at).toMatch(RFC3339)
      expect(Object.keys(row).sort()).toEqual([
        'gb_hours',
        'sandbox_creates',
        'team_id',
        'updated_at',
        'usage_date',
      ])
    }
    for (const key of body.api_keys)
      expect(Object.keys(key)).toEqual(
        expect.arrayContaining([
          'id',
          'user_id',
          'team_id',
          'key_prefix',
          'name',
          'is_active',
          'created_at',
          'last_used_at',
          'scope',
          'revoked_at',
          'expires_at',
          'rotation_parent_key_id',
        ]),
      )
    for (const sb of body.sandboxes) {
      expect(Object.keys(sb)).toEqual(
        expect.arrayContaining([
          'id',
          'template',
          'status',
          'metadata',
          'started_at',
          'destroyed_at',
          'created_at',
          'updated_at',
          'config',
        ]),
      )
      expect(sb.created_at).toMatch(RFC3339)
    }
    expect(body.exported_at).toMatch(RFC3339)
  })
})

describe('account export: no secrets', () => {
  it('carries no key hash, plaintext key, replay body or configured secret', async () => {
    const t = createTestApp({
      env: { ...env, STRIPE_SECRET_KEY: 'sk_test_NEVER_EXPORTED', STRIPE_WEBHOOK_SECRET: 'whsec_NEVER' },
    })
    const u = await t.createUser()
    const seeded = await seedFullAccount(t, u)
    const hashes = (
      await many(
        t.store.orm.select({ h: apiKeys.keyHash }).from(apiKeys).where(eq(apiKeys.userId, u.user.id)),
      )
    ).map((r) => r.h)
    expect(hashes.length).toBeGreaterThanOrEqual(4)
    for (const dialect of ['api', 'v1'] as const) {
      const { text } = await exportOf(t, u, dialect)
      for (const secret of [
        ...hashes,
        ...seeded.plaintexts,
        'SECRET-REPLAY-BODY',
        'sk_test_NEVER_EXPORTED',
        'whsec_NEVER',
        'key_hash',
        'keyHash',
        TEST_JWT,
      ])
        expect({ dialect, leaked: text.includes(secret) ? secret.slice(0, 12) : null }).toEqual({
          dialect,
          leaked: null,
        })
    }
  })
})
const TEST_JWT = 'test-secret-0123456789abcdef'

describe('account export: one consistent snapshot', () => {
  for (const kind of ['file', 'memory'] as const)
    it(`${kind} database: a write landing while the body streams is not in it`, async () => {
      const t = kind === 'file' ? fileApp() : createTestApp({ env })
      const u = await t.createUser()
      await seedFullAccount(t, u, { sandboxes: 5000 })
      const response = await t.request('GET', '/v1/account/export', { token: u.session })
      const reader = (response.body as ReadableStream<Uint8Array>).getReader()
      const chunks: Uint8Array[] = []
      const firstChunk = await reader.read()
      chunks.push(firstChunk.value as Uint8Array)
      // Mid-stream: another request adds an app and a sandbox and renames the user.
      const now = t.clock.now()
      await exec(
        t.store.orm.insert(apps).values({
          id: '-NmidStreamApp000000',
          userId: u.user.id,
          appName: 'Late',
          slug: 'late-app',
          createdAt: now,
          updatedAt: now,
        }),
      )
      await exec(
        t.store.orm.insert(sandboxes).values({
          id: 'sb_midstream',
          teamId: u.team.id,
          userId: u.user.id,
          template: 'base',
          status: 'running',
          vcpus: 1,
          memoryMb: 256,
          createdAt: now + 1e7,
          updatedAt: now,
        }),
      )
      await exec(t.store.orm.update(users).set({ name: 'Renamed mid-stream' }).where(eq(users.id, u.user.id)))
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        chunks.push(value)
      }
      expect(chunks.length).toBeGreaterThan(2)
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      const text = JSON.stringify(body)
      expect(text).not.toContain('-NmidStreamApp000000')
      expect(text).not.toContain('sb_midstream')
      expect(body.user.name).toBeNull()
      expect(body.sandboxes).toHaveLength(5000)
      expect(body._manifest.counts.sandboxes).toBe(5000)
      expect(body._manifest.counts.apps).toBe(body.apps.length)
      // The write itself landed.
      expect(
        await many(
          t.store.orm
            .select()
            .from(apps)
            .where(and(eq(apps.userId, u.user.id), eq(apps.id, '-NmidStreamApp000000'))),
        ),
      ).toHaveLength(1)
    })
})

describe('account export: access and records', () => {
  it('lets a soft-deleted /v1 account export during its grace period', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await exec(
      t.store.orm
        .update(users)
        .set({ softDeletedAt: t.clock.now(), deleteScheduledAt: t.clock.now() + 1e9 })
        .where(eq(users.id, u.user.id)),
    )
    const r = await exportOf(t, u, 'v1')
    expect(r.status).toBe(200)
    expect(r.body.user.soft_deleted_at).toMatch(RFC3339)
  })

  it('writes a PII-free audit event per export', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await exportOf(t, u, 'api')
    await exportOf(t, u, 'v1')
    const events = await many(
      t.store.orm.select().from(auditEvents).where(eq(auditEvents.action, 'account.exported')),
    )
    expect(events.map((e) => e.details)).toEqual([{ dialect: 'api' }, { dialect: 'v1' }])
    for (const e of events) {
      expect(e.userHash).toBe(hashUserId(u.user.id))
      expect(JSON.stringify(e)).not.toContain(u.user.email)
      expect(JSON.stringify(e)).not.toContain(u.user.id)
    }
  })

  it('is limited to 10 exports an hour per user', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    for (let i = 0; i < 10; i++)
      expect((await t.request('GET', '/api/account/export', { token: u.apiKey })).status).toBe(200)
    const r = await t.json('GET', '/v1/account/export', { token: u.session })
    expect(r.status).toBe(429)
    expect(r.body.code).toBe('rate_limit_exceeded')
  })
})
