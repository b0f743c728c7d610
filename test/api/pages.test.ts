import { describe, expect, it } from 'bun:test'
import { exec } from '../../db/query'
import { policyVersions } from '../../db/tables'
import { expectApiError } from '../support/envelopes'
import { createTestApp, type TestApp, type TestUser } from '../support/harness'
import { VALID_PAGES as VALID } from '../support/page-fixtures'

const env = { RATE_LIMIT_ENABLED: 'false' }
async function setup() {
  const t = createTestApp({ env })
  const u = await t.createUser()
  const appId = (await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Pages App' } })).body
    .appId as string
  return { t, u, appId }
}
const put = (t: TestApp, u: TestUser, appId: string, page: string, body: unknown) =>
  t.json('PUT', `/api/apps/${appId}/${page}`, { token: u.apiKey, body })

describe('pages: GET is 404 until saved; PUT answers what was saved', () => {
  // The privacy manifest answers a wizard starter before its first save: privacy-manifest.test.ts.
  for (const page of Object.keys(VALID).filter((p) => p !== 'privacy-manifest'))
    it(page, async () => {
      const { t, u, appId } = await setup()
      const before = await t.json('GET', `/api/apps/${appId}/${page}`, { token: u.apiKey })
      expect(before.status).toBe(404)
      expectApiError(before.body, 'NOT_FOUND')
      t.clock.advance(1234)
      const saved = await put(t, u, appId, page, VALID[page])
      expect(saved.status).toBe(200)
      expect(saved.body).toMatchObject({ ...VALID[page], updatedAt: t.clock.now() })
      const after = await t.json('GET', `/api/apps/${appId}/${page}`, { token: u.session })
      expect(after.body).toEqual({ ...VALID[page], updatedAt: t.clock.now() })
    })
})

describe('support page', () => {
  it('accepts both forms of contactAddress and supportHours', async () => {
    const { t, u, appId } = await setup()
    const structured = {
      contactEmail: 'help@dev.example',
      contactAddress: { street: '1 Main St', city: 'Springfield', state: 'IL', zip: '62701', country: 'US' },
      supportHours: { from: '09:00', to: '17:30', timezone: 'America/Chicago', days: ['mon', 'tue', 'wed'] },
    }
    expect((await put(t, u, appId, 'support-page', structured)).body).toMatchObject(structured)
    const text = { contactEmail: 'help@dev.example', contactAddress: 'PO Box 1', supportHours: 'Always' }
    expect((await put(t, u, appId, 'support-page', text)).body).toMatchObject(text)
  })
})

describe('policy', () => {
  it('answers warnings naming the recommended fields left empty', async () => {
    const { t, u, appId } = await setup()
    const empty = await put(t, u, appId, 'policy', {})
    expect(empty.status).toBe(200)
    expect(empty.body.warnings).toEqual([
      expect.stringContaining('app-info.app_name'),
      expect.stringContaining('app-info.developer_name'),
      expect.stringContaining('app-info.email'),
      expect.stringContaining('data-collection.collects_data'),
    ])
    const partial = await put(t, u, appId, 'policy', {
      'data-collection': { collects_data: 'yes' },
      'data-retention': { retains_data: 'yes' },
    })
    expect(partial.body.warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining('data-collection.data_types'),
        expect.stringContaining('data-collection.purposes'),
        expect.stringContaining('data-retention.retention_period'),
      ]),
    )
    expect((await put(t, u, appId, 'policy', VALID.policy)).body.warnings).toEqual([])
  })
})

describe('policy versions', () => {
  it('lists snapshots newest first (at most 20) and answers one with its data', async () => {
    const { t, u, appId } = await setup()
    for (let i = 0; i < 22; i++)
      await exec(
        t.store.orm.insert(policyVersions).values({
          id: `pv_${String(i).padStart(2, '0')}`,
          appId,
          snapshotAt: t.clock.now() + i,
          trigger: 'deploy',
          appName: 'Pages App',
          policyData: { n: i },
        }),
      )
    const list = await t.json('GET', `/api/apps/${appId}/policy-versions`, { token: u.apiKey })
    expect(list.body).toHaveLength(20)
    expect(list.body[0]).toEqual({
      versionId: 'pv_21',
      snapshotAt: t.clock.now() + 21,
      trigger: 'deploy',
      appName: 'Pages App',
    })
    const one = await t.json('GET', `/api/apps/${appId}/policy-versions/pv_05`, { token: u.apiKey })
    expect(one.body).toEqual({
      versionId: 'pv_05',
      snapshotAt: t.clock.now() + 5,
      trigger: 'deploy',
      appName: 'Pages App',
      policyData: { n: 5 },
    })
    expect((await t.json('GET', `/api/apps/${appId}/policy-versions/nope`, { token: u.apiKey })).status).toBe(
      404,
    )
  })
})

// One invalid value for every field constraint of docs/spec/api-orbit.md ("Pages"): [page, body, field].
const INVALID: [string, Record<string, unknown>, string][] = [
  ['policy', { 'app-info': { app_name: 'x'.repeat(201) } }, 'app-info'],
  ['policy', { 'app-info': { email: 'not-an-email' } }, 'app-info'],
  ['policy', { 'data-collection': { collects_data: 'maybe' } }, 'data-collection'],
  ['policy', { 'data-collection': { data_types: 'email' } }, 'data-collection'],
  ['policy', { 'data-collection': { purposes: Array(51).fill('p') } }, 'data-collection'],
  ['policy', { 'third-party': { shares_data: [1] } }, 'third-party'],
  ['policy', { 'third-party': { third_party_list: 'x'.repeat(5001) } }, 'third-party'],
  ['policy', { 'data-retention': { retains_data: 'often' } }, 'data-retention'],
  ['policy', { 'data-retention': { retention_period: 'x'.repeat(501) } }, 'data-retention'],
  ['policy', { 'children-tracking': { collects_from_children: 'no' } }, 'children-tracking'],
  ['policy', { 'children-tracking': { uses_tracking: [{}] } }, 'children-tracking'],
  ['policy', { _seenSections: 'all' }, '_seenSections'],
  ['support-page', {}, 'contactEmail'],
  ['support-page', { contactEmail: 'nope' }, 'contactEmail'],
  ['support-page', { contactEmail: 'a@b.co', contactPhone: 'call me' }, 'contactPhone'],
  ['support-page', { contactEmail: 'a@b.co', contactUrl: 'ftp://x.example' }, 'contactUrl'],
  ['support-page', { contactEmail: 'a@b.co', contactAddress: 'x'.repeat(501) }, 'contactAddress'],
  ['support-page', { contactEmail: 'a@b.co', contactAddress: { street: 'x'.repeat(201) } }, 'contactAddress'],
  ['support-page', { contactEmail: 'a@b.co', contactAddress: 42 }, 'contactAddress'],
  ['support-page', { contactEmail: 'a@b.co', supportHours: 'x'.repeat(201) }, 'supportHours'],
  [
    'support-page',
    { contactEmail: 'a@b.co', supportHours: { from: '9am', to: '17:00', timezone: 'UTC', days: ['mon'] } },
    'supportHours',
  ],
  [
    'support-page',
    {
      contactEmail: 'a@b.co',
      supportHours: { from: '09:00', to: '17:00', timezone: 'UTC', days: ['someday'] },
    },
    'supportHours',
  ],
  [
    'support-page',
    { contactEmail: 'a@b.co', faqItems: Array(21).fill({ question: 'q', answer: 'a' }) },
    'faqItems',
  ],
  ['support-page', { contactEmail: 'a@b.co', faqItems: [{ question: '', answer: 'a' }] }, 'faqItems'],
  [
    'support-page',
    { contactEmail: 'a@b.co', faqItems: [{ question: 'q', answer: 'x'.repeat(5001) }] },
    'faqItems',
  ],
  ['support-page', { contactEmail: 'a@b.co', additionalInfo: 'x'.repeat(5001) }, 'additionalInfo'],
  ['deletion-page', {}, 'supportsAccounts'],
  ['deletion-page', { supportsAccounts: 'yes' }, 'supportsAccounts'],
  ['deletion-page', { supportsAccounts: true, deletionMethods: Array(11).fill('m') }, 'deletionMethods'],
  ['deletion-page', { supportsAccounts: true, deletionEmail: 'x' }, 'deletionEmail'],
  ['deletion-page', { supportsAccounts: true, deletionUrl: 'javascript:alert(1)' }, 'deletionUrl'],
  ['deletion-page', { supportsAccounts: true, deletionSteps: Array(11).fill('s') }, 'deletionSteps'],
  ['deletion-page', { supportsAccounts: true, deletionTimeline: 'x'.repeat(201) }, 'deletionTimeline'],
  [
    'deletion-page',
    { supportsAccounts: true, dataRetainedAfterDeletion: 'x'.repeat(2001) },
    'dataRetainedAfterDeletion',
  ],
  ['deletion-page', { supportsAccounts: true, additionalInfo: 'x'.repeat(5001) }, 'additionalInfo'],
  ['testflight-page', { enabled: 'yes' }, 'enabled'],
  ['testflight-page', { testFlightUrl: 'https://example.com/join/abc' }, 'testFlightUrl'],
  ['testflight-page', { testFlightUrl: 'https://testflight.apple.com/join/' }, 'testFlightUrl'],
  ['testflight-page', { betaDescription: 'x'.repeat(4001) }, 'betaDescription'],
  ['testflight-page', { requirements: 'x'.repeat(2001) }, 'requirements'],
  ['testflight-page', { feedbackEmail: 'no' }, 'feedbackEmail'],
  ['aasa', { universalLinks: { appIDs: [], paths: [] } }, 'universalLinks'],
  ['aasa', { universalLinks: { appIDs: Array(11).fill('ABCDE12345.com.x'), paths: [] } }, 'universalLinks'],
  ['aasa', { universalLinks: { appIDs: ['com.x.app'], paths: [] } }, 'universalLinks'],
  [
    'aasa',
    { universalLinks: { appIDs: ['ABCDE12345.com.x'], paths: Array(51).fill({ pattern: '/' }) } },
    'universalLinks',
  ],
  ['aasa', { universalLinks: { appIDs: ['ABCDE12345.com.x'], paths: [{ pattern: '' }] } }, 'universalLinks'],
  ['aasa', { appClips: { appIDs: Array(6).fill('ABCDE12345.com.x') } }, 'appClips'],
  ['aasa', { webCredentials: { appIDs: ['lowercase1.com.x'] } }, 'webCredentials'],
  ['aasa', { activityContinuation: { appIDs: 'ABCDE12345.com.x' } }, 'activityContinuation'],
  ['privacy-manifest', { trackingDomains: ['not a host'] }, 'trackingDomains'],
  ['privacy-manifest', { dataTypes: [{ type: '' }] }, 'dataTypes'],
  ['privacy-manifest', { tracking: 'no' }, 'tracking'],
]

describe('pages: every field constraint answers 400 VALIDATION_FAILED naming the field', () => {
  it(`holds for ${INVALID.length} invalid values across the page kinds`, async () => {
    const { t, u, appId } = await setup()
    const covered = new Set<string>()
    for (const [page, body, field] of INVALID) {
      const r = await put(t, u, appId, page, body)
      const label = `${page} ${JSON.stringify(body).slice(0, 80)}`
      expect({ label, status: r.status }).toEqual({ label, status: 400 })
      const details = expectApiError(r.body, 'VALIDATION_FAILED').details as { path: (string | number)[] }[]
      expect({ label, fields: details.map((d) => d.path[0]) }).toEqual({
        label,
        fields: expect.arrayContaining([field]),
      })
      covered.add(page)
    }
    expect([...covered].sort()).toEqual(Object.keys(VALID).sort())
    // Nothing invalid was stored.
    for (const page of Object.keys(VALID)) {
      const after = await t.json('GET', `/api/apps/${appId}/${page}`, { token: u.apiKey })
      if (page === 'privacy-manifest') expect(after.body.source).toBe('wizard')
      else expect(after.status).toBe(404)
    }
  })
})
