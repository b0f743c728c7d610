import { describe, expect, it } from 'bun:test'
import { retentionSentence } from '../../src/render/site'
import { createTestApp, type TestApp, type TestUser } from '../support/harness'
import { VALID_PAGES } from '../support/page-fixtures'

const env = { RATE_LIMIT_ENABLED: 'false', STORAGE_DIR: `/tmp/custodian-hosted-${crypto.randomUUID()}` }

async function published(t: TestApp, u: TestUser, setup: (appId: string) => Promise<unknown>) {
  const { appId, slug } = (
    await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Hosted' } })
  ).body
  await setup(appId)
  expect((await t.json('POST', `/api/apps/${appId}/deploy`, { token: u.apiKey })).status).toBe(200)
  return { appId: appId as string, page: (name: string) => t.request('GET', `/sites/${slug}/${name}`) }
}

describe('the TestFlight page', () => {
  for (const searchIndexing of [true, false])
    it(`is never indexed (searchIndexing ${searchIndexing}), while the other pages follow the setting`, async () => {
      const t = createTestApp({ env })
      const u = await t.createUser()
      const { page } = await published(t, u, async (appId) => {
        await t.json('PATCH', `/api/apps/${appId}/site`, { token: u.apiKey, body: { searchIndexing } })
        await t.json('PUT', `/api/apps/${appId}/testflight-page`, {
          token: u.apiKey,
          body: VALID_PAGES['testflight-page'],
        })
        await t.json('PUT', `/api/apps/${appId}/support-page`, {
          token: u.apiKey,
          body: VALID_PAGES['support-page'],
        })
      })
      const testflight = await page('testflight')
      expect(testflight.status).toBe(200)
      expect(testflight.headers.get('x-robots-tag')).toBe('noindex, nofollow')
      expect(await testflight.text()).toContain('<meta name="robots" content="noindex, nofollow">')
      const support = await page('support')
      expect(support.headers.get('x-robots-tag')).toBe(searchIndexing ? null : 'noindex, nofollow')
      expect((await support.text()).includes('name="robots"')).toBe(!searchIndexing)
    })
})

describe('the smart banner', () => {
  it("carries the App Clip in Apple's format, escaped like the other values", async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const { page } = await published(t, u, async (appId) => {
      await t.json('PUT', `/api/apps/${appId}/support-page`, {
        token: u.apiKey,
        body: VALID_PAGES['support-page'],
      })
      const r = await t.json('PUT', `/api/apps/${appId}/site/smart-banner`, {
        token: u.apiKey,
        body: { appStoreId: '123456789', appClipBundleId: 'com.dev.app.Clip"<x>', appClipDisplay: 'card' },
      })
      expect(r.status).toBe(200)
    })
    const html = await (await page('support')).text()
    expect(html).toContain(
      '<meta name="apple-itunes-app" content="app-id=123456789, app-clip-bundle-id=com.dev.app.Clip&quot;&lt;x&gt;, app-clip-display=card">',
    )
  })
})

describe('the retention sentence', () => {
  it('puts a period into its own sentence and leaves a full sentence alone, never doubling the period', async () => {
    expect(retentionSentence('12 months')).toBe('We keep your data for 12 months.')
    expect(retentionSentence('12 months.')).toBe('We keep your data for 12 months.')
    expect(retentionSentence('Location history is kept for 30 days.')).toBe(
      'Location history is kept for 30 days.',
    )
    expect(retentionSentence('Location history is kept for 30 days')).toBe(
      'Location history is kept for 30 days.',
    )
    expect(retentionSentence('')).toBe('We keep your data for as long as needed to provide the service.')

    const t = createTestApp({ env })
    const u = await t.createUser()
    const policy = VALID_PAGES.policy as Record<string, unknown>
    const { page } = await published(t, u, (appId) =>
      t.json('PUT', `/api/apps/${appId}/policy`, {
        token: u.apiKey,
        body: {
          ...policy,
          'data-retention': {
            retains_data: 'yes',
            retention_period: 'Location history is kept for 30 days.',
          },
        },
      }),
    )
    const html = await (await page('privacy')).text()
    expect(html).toContain('<p>Location history is kept for 30 days.</p>')
    expect(html).not.toContain('We keep your data for Location')
    expect(html).not.toContain('..')
  })
})
