import { describe, expect, it } from 'bun:test'
import plist from 'plist'
import { expectApiError } from '../support/envelopes'
import { createTestApp, type TestApp, type TestUser } from '../support/harness'
import { VALID_PAGES } from '../support/page-fixtures'

const env = { RATE_LIMIT_ENABLED: 'false', STORAGE_DIR: `/tmp/custodian-pm-${crypto.randomUUID()}` }

async function setup() {
  const t = createTestApp({ env })
  const u = await t.createUser()
  const appId = (await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Manifested' } })).body
    .appId as string
  return { t, u, appId }
}

const wizard = (dataTypes: string[], purposes: string[], tracking: string[] = []) => ({
  ...VALID_PAGES.policy,
  'data-collection': { collects_data: 'yes', data_types: dataTypes, purposes },
  'children-tracking': {
    children_or_tracking: tracking.length ? 'yes' : 'no',
    collects_from_children: [],
    uses_tracking: tracking,
  },
})

const CONFIG = {
  tracking: true,
  trackingDomains: ['ads.example.com'],
  dataTypes: [
    {
      type: 'NSPrivacyCollectedDataTypeEmailAddress',
      linkedToUser: true,
      usedForTracking: false,
      purposes: ['NSPrivacyCollectedDataTypePurposeAppFunctionality'],
    },
    {
      type: 'NSPrivacyCollectedDataTypeCrashData',
      linkedToUser: false,
      usedForTracking: false,
      purposes: [
        'NSPrivacyCollectedDataTypePurposeAnalytics',
        'NSPrivacyCollectedDataTypePurposeAppFunctionality',
      ],
    },
  ],
  accessedApiTypes: [
    { category: 'NSPrivacyAccessedAPICategoryUserDefaults', reasons: ['CA92.1', 'C56D.1'] },
    { category: 'NSPrivacyAccessedAPICategoryFileTimestamp', reasons: ['C617.1'] },
  ],
}

const path = (appId: string, rest = '') => `/api/apps/${appId}/privacy-manifest${rest}`
const putWizard = (t: TestApp, u: TestUser, appId: string, body: unknown) =>
  t.json('PUT', `/api/apps/${appId}/policy`, { token: u.apiKey, body })

describe('GET /api/apps/:appId/privacy-manifest', () => {
  it('answers a starter derived from the wizard before any save, saying which mapping it used', async () => {
    const { t, u, appId } = await setup()
    const empty = await t.json('GET', path(appId), { token: u.apiKey })
    expect(empty.status).toBe(200)
    expect(empty.body).toMatchObject({ source: 'wizard', updatedAt: null, dataTypes: [], tracking: false })

    expect(
      (await putWizard(t, u, appId, wizard(['Email address', 'GPS location', 'crash logs'], ['Analytics'])))
        .status,
    ).toBe(200)
    const starter = await t.json('GET', path(appId), { token: u.apiKey })
    expect(starter.body.source).toBe('wizard')
    expect(starter.body.dataTypes.map((d: { type: string }) => d.type)).toEqual([
      'NSPrivacyCollectedDataTypeEmailAddress',
      'NSPrivacyCollectedDataTypePreciseLocation',
      'NSPrivacyCollectedDataTypeCrashData',
    ])
    for (const d of starter.body.dataTypes)
      expect(d.purposes).toEqual(['NSPrivacyCollectedDataTypePurposeAnalytics'])
    expect(starter.body.mapping).toContainEqual({
      field: 'data_types',
      answer: 'GPS location',
      mappedTo: 'NSPrivacyCollectedDataTypePreciseLocation',
    })
    expect(starter.body.mapping).toContainEqual({
      field: 'purposes',
      answer: 'Analytics',
      mappedTo: 'NSPrivacyCollectedDataTypePurposeAnalytics',
    })
  })

  it('answers the saved config once saved, values written as Apple identifiers', async () => {
    const { t, u, appId } = await setup()
    const saved = await t.json('PUT', path(appId), {
      token: u.apiKey,
      body: {
        ...CONFIG,
        // Short forms and display names are accepted and stored as Apple's identifiers.
        dataTypes: [
          { ...CONFIG.dataTypes[0], type: 'Email Address', purposes: ['App Functionality'] },
          { ...CONFIG.dataTypes[1], type: 'CrashData', purposes: ['Analytics', 'AppFunctionality'] },
        ],
        accessedApiTypes: [
          { category: 'UserDefaults', reasons: ['CA92.1', 'c56d.1'] },
          { category: 'NSPrivacyAccessedAPICategoryFileTimestamp', reasons: ['C617.1'] },
        ],
      },
    })
    expect(saved.status).toBe(200)
    expect(saved.body).toEqual({ ...CONFIG, source: 'saved', updatedAt: t.clock.now(), mapping: [] })
    expect((await t.json('GET', path(appId), { token: u.session })).body).toEqual(saved.body)
  })

  it('answers 404 for another user’s app on every privacy-manifest route', async () => {
    const { t, appId } = await setup()
    const other = await t.createUser()
    for (const [method, rest, body] of [
      ['GET', '', undefined],
      ['PUT', '', CONFIG],
      ['POST', '/sync-from-wizard', undefined],
      ['GET', '.xcprivacy', undefined],
    ] as const) {
      const r = await t.json(method, path(appId, rest), { token: other.apiKey, body })
      expect({ method, rest, status: r.status }).toEqual({ method, rest, status: 404 })
      expectApiError(r.body, 'NOT_FOUND')
    }
  })
})

describe('PUT /api/apps/:appId/privacy-manifest', () => {
  it('refuses a type, purpose, category or reason that is not Apple’s, naming it, and saves nothing', async () => {
    const { t, u, appId } = await setup()
    const cases: [unknown, (string | number)[], string][] = [
      [{ dataTypes: [{ type: 'Shoe Size', purposes: [] }] }, ['dataTypes', 0, 'type'], 'Shoe Size'],
      [{ dataTypes: [{ type: 'Name', purposes: ['Fun'] }] }, ['dataTypes', 0, 'purposes', 0], 'Fun'],
      [
        { accessedApiTypes: [{ category: 'Clipboard', reasons: ['CA92.1'] }] },
        ['accessedApiTypes', 0, 'category'],
        'Clipboard',
      ],
      [
        { accessedApiTypes: [{ category: 'DiskSpace', reasons: ['ZZZZ.9'] }] },
        ['accessedApiTypes', 0, 'reasons', 0],
        'ZZZZ.9',
      ],
      // A real code, but of another category.
      [
        { accessedApiTypes: [{ category: 'DiskSpace', reasons: ['CA92.1'] }] },
        ['accessedApiTypes', 0, 'reasons', 0],
        'CA92.1',
      ],
    ]
    for (const [body, where, value] of cases) {
      const r = await t.json('PUT', path(appId), { token: u.apiKey, body })
      expect(r.status).toBe(400)
      const error = expectApiError(r.body, 'VALIDATION_FAILED')
      expect(error.details[0].path).toEqual(where)
      expect(error.message).toContain(`"${value}"`)
    }
    expect((await t.json('GET', path(appId), { token: u.apiKey })).body.source).toBe('wizard')
  })
})

describe('POST /api/apps/:appId/privacy-manifest/sync-from-wizard', () => {
  it('answers a config freshly derived from the wizard and saves nothing', async () => {
    const { t, u, appId } = await setup()
    await putWizard(t, u, appId, wizard(['contacts'], ['advertising'], ['cross-app ads']))
    expect((await t.json('PUT', path(appId), { token: u.apiKey, body: CONFIG })).status).toBe(200)
    const synced = await t.json('POST', path(appId, '/sync-from-wizard'), { token: u.apiKey })
    expect(synced.status).toBe(200)
    expect(synced.body).toMatchObject({
      source: 'wizard',
      tracking: true,
      dataTypes: [
        {
          type: 'NSPrivacyCollectedDataTypeContacts',
          linkedToUser: true,
          usedForTracking: true,
          purposes: ['NSPrivacyCollectedDataTypePurposeThirdPartyAdvertising'],
        },
      ],
    })
    const after = await t.json('GET', path(appId), { token: u.apiKey })
    expect(after.body).toMatchObject({ ...CONFIG, source: 'saved' })
  })
})

describe('GET /api/apps/:appId/privacy-manifest.xcprivacy', () => {
  it('renders Apple’s property list, as an attachment, that parses back to the config', async () => {
    const { t, u, appId } = await setup()
    await t.json('PUT', path(appId), { token: u.apiKey, body: CONFIG })
    const r = await t.request('GET', path(appId, '.xcprivacy'), { token: u.apiKey })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="PrivacyInfo.xcprivacy"')
    const text = await r.text()
    expect(text).toContain('<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN"')
    expect(plist.parse(text)).toEqual({
      NSPrivacyTracking: true,
      NSPrivacyTrackingDomains: ['ads.example.com'],
      NSPrivacyCollectedDataTypes: CONFIG.dataTypes.map((d) => ({
        NSPrivacyCollectedDataType: d.type,
        NSPrivacyCollectedDataTypeLinked: d.linkedToUser,
        NSPrivacyCollectedDataTypeTracking: d.usedForTracking,
        NSPrivacyCollectedDataTypePurposes: d.purposes,
      })),
      NSPrivacyAccessedAPITypes: CONFIG.accessedApiTypes.map((a) => ({
        NSPrivacyAccessedAPIType: a.category,
        NSPrivacyAccessedAPITypeReasons: a.reasons,
      })),
    })
  })

  it('renders the wizard starter before any save, and the hosted labels page agrees with it', async () => {
    const { t, u, appId } = await setup()
    await putWizard(t, u, appId, wizard(['email', 'purchase history'], ['analytics']))
    const parsed = plist.parse(
      await (await t.request('GET', path(appId, '.xcprivacy'), { token: u.apiKey })).text(),
    ) as {
      NSPrivacyCollectedDataTypes: { NSPrivacyCollectedDataType: string }[]
    }
    expect(parsed.NSPrivacyCollectedDataTypes.map((d) => d.NSPrivacyCollectedDataType)).toEqual([
      'NSPrivacyCollectedDataTypeEmailAddress',
      'NSPrivacyCollectedDataTypePurchaseHistory',
    ])
    const deployed = await t.json('POST', `/api/apps/${appId}/deploy`, { token: u.apiKey })
    expect(deployed.status).toBe(200)
    const labels = await (
      await t.request('GET', new URL(deployed.body.pages.nutritionLabels).pathname)
    ).text()
    expect(labels).toContain('<td>Email Address</td>')
    expect(labels).toContain('<td>Purchase History</td>')
    expect(labels).toContain('Analytics')
  })
})

describe('GET /api/privacy-manifest/reference', () => {
  it("lists Apple's data types, purposes, and every Required Reason category with its codes", async () => {
    const t = createTestApp()
    const u = await t.createUser()
    const r = await t.json('GET', '/api/privacy-manifest/reference', { token: u.apiKey })
    expect(r.status).toBe(200)
    const codes = Object.fromEntries(
      r.body.requiredReasonApis.map((a: { id: string; reasons: { code: string }[] }) => [
        a.id,
        a.reasons.map((x) => x.code),
      ]),
    )
    expect(codes).toEqual({
      NSPrivacyAccessedAPICategoryFileTimestamp: ['DDA9.1', 'C617.1', '3B52.1', '0A2A.1'],
      NSPrivacyAccessedAPICategorySystemBootTime: ['35F9.1', '8FFB.1', '3D61.1'],
      NSPrivacyAccessedAPICategoryDiskSpace: ['85F4.1', 'E174.1', '7D9E.1', 'B728.1'],
      NSPrivacyAccessedAPICategoryActiveKeyboards: ['3EC4.1', '54BD.1'],
      NSPrivacyAccessedAPICategoryUserDefaults: ['CA92.1', '1C8F.1', 'C56D.1', 'AC6B.1'],
    })
    for (const api of r.body.requiredReasonApis)
      for (const reason of api.reasons) expect(reason.description.length).toBeGreaterThan(10)
    const types = r.body.dataTypes.map((d: { id: string }) => d.id)
    expect(types).toContain('NSPrivacyCollectedDataTypePhotosorVideos')
    expect(types).toContain('NSPrivacyCollectedDataTypeOtherDataTypes')
    expect(types).toHaveLength(35)
    expect(r.body.purposes.map((p: { id: string }) => p.id)).toEqual([
      'NSPrivacyCollectedDataTypePurposeThirdPartyAdvertising',
      'NSPrivacyCollectedDataTypePurposeDeveloperAdvertising',
      'NSPrivacyCollectedDataTypePurposeAnalytics',
      'NSPrivacyCollectedDataTypePurposeProductPersonalization',
      'NSPrivacyCollectedDataTypePurposeAppFunctionality',
      'NSPrivacyCollectedDataTypePurposeOther',
    ])
  })
})

describe('export and erasure of the saved config', () => {
  it('exports every field of the saved manifest and erases it with the account', async () => {
    const { t, u, appId } = await setup()
    await t.json('PUT', path(appId), { token: u.apiKey, body: CONFIG })
    const exported = await t.json('GET', '/api/account/export', { token: u.apiKey })
    const page = JSON.stringify(exported.body)
    expect(page).toContain('NSPrivacyAccessedAPICategoryUserDefaults')
    expect(page).toContain('C56D.1')
    expect(page).toContain('ads.example.com')
    expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
    expect(await t.row("SELECT count(*) AS n FROM app_pages WHERE kind = 'privacy_manifest'")).toEqual({
      n: 0,
    })
  })
})
