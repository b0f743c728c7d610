import { describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { Parser } from 'htmlparser2'
import { exec } from '../../db/query'
import { sites } from '../../db/tables'
import { renderSite } from '../../src/render/site'
import type { SiteRenderer } from '../../src/services/deploy'
import { expectApiError } from '../support/envelopes'
import { createTestApp, type TestApp, type TestAppOptions, type TestUser } from '../support/harness'
import { VALID_PAGES } from '../support/page-fixtures'

const baseEnv = { RATE_LIMIT_ENABLED: 'false' }
function app(options: TestAppOptions = {}) {
  return createTestApp({
    ...options,
    env: { ...baseEnv, STORAGE_DIR: `/tmp/custodian-deploy-${crypto.randomUUID()}`, ...options.env },
  })
}
async function appWithPages(t: TestApp, u: TestUser, appName = 'Weather', pages = Object.keys(VALID_PAGES)) {
  const { appId, slug } = (await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName } })).body
  for (const page of pages)
    expect(
      (await t.json('PUT', `/api/apps/${appId}/${page}`, { token: u.apiKey, body: VALID_PAGES[page] }))
        .status,
    ).toBe(200)
  return { appId: appId as string, slug: slug as string }
}
const deploy = (t: TestApp, u: TestUser, appId: string) =>
  t.json('POST', `/api/apps/${appId}/deploy`, { token: u.apiKey })

/** Elements and attributes a browser would build that could run script. */
function scriptable(html: string): string[] {
  const problems: string[] = []
  const parser = new Parser({
    onopentag(name, attributes) {
      if (['script', 'iframe', 'object', 'embed', 'svg'].includes(name)) problems.push(`<${name}>`)
      for (const [attribute, value] of Object.entries(attributes)) {
        if (attribute.startsWith('on')) problems.push(`${name}[${attribute}]`)
        if (/javascript:/i.test(value)) problems.push(`${name}[${attribute}=${value}]`)
      }
    },
  })
  parser.write(html)
  parser.end()
  return problems
}

describe('POST /api/apps/:appId/deploy', () => {
  it('renders every configured page and answers their URLs', async () => {
    const t = app()
    const u = await t.createUser()
    const { appId, slug } = await appWithPages(t, u)
    const r = await deploy(t, u, appId)
    expect(r.status).toBe(200)
    const base = `http://custodian.test/sites/${slug}/`
    expect(r.body).toEqual({
      url: base,
      deployedAt: t.clock.now(),
      pages: {
        privacyPolicy: `${base}privacy`,
        supportPage: `${base}support`,
        dataDeletion: `${base}delete`,
        nutritionLabels: `${base}privacy-labels`,
        aasa: `${base}.well-known/apple-app-site-association`,
        testflight: `${base}testflight`,
      },
    })
    const site = (await t.json('GET', `/api/apps/${appId}/site`, { token: u.apiKey })).body
    expect(site).toMatchObject({ deployed: true, deployedAt: t.clock.now() })
    for (const url of [base, ...Object.values(r.body.pages as Record<string, string>)]) {
      const page = await t.request('GET', new URL(url).pathname)
      expect({ url, status: page.status }).toEqual({ url, status: 200 })
      if (url.endsWith('apple-app-site-association'))
        expect(page.headers.get('content-type')).toBe('application/json')
      else expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    }
    const support = await (await t.request('GET', `/sites/${slug}/support`)).text()
    expect(support).toContain('help@dev.example')
    expect(support).toContain('How?')
  })

  it('serves the AASA file as JSON without an extension, in Apple’s format', async () => {
    const t = app()
    const u = await t.createUser()
    const { appId, slug } = await appWithPages(t, u, 'Links', ['aasa'])
    await deploy(t, u, appId)
    const r = await t.request('GET', `/sites/${slug}/.well-known/apple-app-site-association`)
    expect(r.headers.get('content-type')).toBe('application/json')
    expect(await r.json()).toEqual({
      applinks: {
        details: [
          { appIDs: ['ABCDE12345.com.dev.app'], components: [{ '/': '/items/*', comment: 'items' }] },
        ],
      },
      appclips: { apps: ['ABCDE12345.com.dev.app.Clip'] },
      webcredentials: { apps: ['ABCDE12345.com.dev.app'] },
    })
  })

  it('answers null for pages not configured, and a TestFlight page only when enabled', async () => {
    const t = app()
    const u = await t.createUser()
    const { appId } = await appWithPages(t, u, 'Bare', [])
    const r = await deploy(t, u, appId)
    expect(Object.values(r.body.pages)).toEqual([null, null, null, null, null, null])
    await t.json('PUT', `/api/apps/${appId}/testflight-page`, {
      token: u.apiKey,
      body: { enabled: false, betaDescription: 'x' },
    })
    expect((await deploy(t, u, appId)).body.pages.testflight).toBeNull()
  })

  it('escapes every user-supplied string: hostile names and policy text never run', async () => {
    const t = app()
    const u = await t.createUser()
    const hostile = `"><script>alert('name')</script><img src=x onerror=alert(1)>`
    const { appId, slug } = (
      await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: hostile } })
    ).body
    await t.json('PATCH', `/api/apps/${appId}/site`, {
      token: u.apiKey,
      body: { description: `</p><script>alert('desc')</script>` },
    })
    await t.json('PUT', `/api/apps/${appId}/policy`, {
      token: u.apiKey,
      body: {
        'app-info': {
          app_name: `<svg onload=alert(1)>`,
          developer_name: `<a href="javascript:alert(1)">me</a>`,
          email: 'a@b.co',
        },
        'data-collection': {
          collects_data: 'yes',
          data_types: ['<iframe src=javascript:alert(1)>'],
          purposes: ['"onmouseover="alert(1)'],
        },
        'third-party': { third_party_list: '<script>alert(3)</script>', shares_data: ['x'] },
      },
    })
    await t.json('PUT', `/api/apps/${appId}/support-page`, {
      token: u.apiKey,
      body: {
        contactEmail: 'a@b.co',
        faqItems: [{ question: '<b onclick=alert(1)>Q</b>', answer: '<script>alert(4)</script>' }],
        contactAddress: { street: '<img src=x onerror=alert(5)>' },
      },
    })
    await t.json('PUT', `/api/apps/${appId}/site/smart-banner`, {
      token: u.apiKey,
      body: { appStoreId: '1', appArgument: '"><script>alert(6)</script>' },
    })
    expect((await deploy(t, u, appId)).status).toBe(200)
    for (const path of ['', 'privacy', 'support', 'privacy-labels']) {
      const r = await t.request('GET', `/sites/${slug}/${path}`)
      const body = await r.text()
      expect({ path, problems: scriptable(body) }).toEqual({ path, problems: [] })
      expect(body).toContain('&lt;script&gt;')
      expect(r.headers.get('content-security-policy')).toContain("default-src 'none'")
    }
  })

  it('marks pages noindex when search indexing is off, and not otherwise', async () => {
    const t = app()
    const u = await t.createUser()
    const { appId, slug } = await appWithPages(t, u, 'Indexing', ['policy'])
    await deploy(t, u, appId)
    let page = await t.request('GET', `/sites/${slug}/privacy`)
    expect(page.headers.get('x-robots-tag')).toBeNull()
    expect(page.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]+$/)
    expect(await page.text()).not.toContain('noindex')
    await t.json('PATCH', `/api/apps/${appId}/site`, { token: u.apiKey, body: { searchIndexing: false } })
    await deploy(t, u, appId)
    page = await t.request('GET', `/sites/${slug}/privacy`)
    expect(page.headers.get('x-robots-tag')).toBe('noindex, nofollow')
    expect(await page.text()).toContain('<meta name="robots" content="noindex, nofollow">')
  })

  it('serves the sanitised custom homepage at the site root', async () => {
    const t = app()
    const u = await t.createUser()
    const { appId, slug } = await appWithPages(t, u, 'Home', [])
    await t.json('PATCH', `/api/apps/${appId}/site`, {
      token: u.apiKey,
      body: { customHomepageHtml: '<h1>Welcome</h1><script>alert(1)</script>' },
    })
    await deploy(t, u, appId)
    const body = await (await t.request('GET', `/sites/${slug}/`)).text()
    expect(body).toContain('<h1>Welcome</h1>')
    expect(scriptable(body)).toEqual([])
  })

  it('is a no-op when nothing changed, still answering 200', async () => {
    const t = app()
    const u = await t.createUser()
    const { appId } = await appWithPages(t, u, 'Same', ['policy'])
    const first = await deploy(t, u, appId)
    t.clock.advance(60_000)
    const second = await deploy(t, u, appId)
    expect(second.status).toBe(200)
    expect(second.body).toEqual(first.body)
    expect((await t.json('GET', `/api/apps/${appId}/deploy-history`, { token: u.apiKey })).body).toHaveLength(
      1,
    )
    expect(
      (await t.json('GET', `/api/apps/${appId}/policy-versions`, { token: u.apiKey })).body,
    ).toHaveLength(1)
  })

  it('keeps at most 50 deploys and 20 policy versions, and two rendered versions on disk', async () => {
    const t = app()
    const u = await t.createUser()
    const { appId } = await appWithPages(t, u, 'Many', [])
    for (let i = 0; i < 52; i++) {
      await t.json('PUT', `/api/apps/${appId}/policy`, {
        token: u.apiKey,
        body: { 'app-info': { app_name: `v${i}` } },
      })
      t.clock.advance(1000)
      expect((await deploy(t, u, appId)).status).toBe(200)
    }
    const history = (await t.json('GET', `/api/apps/${appId}/deploy-history`, { token: u.apiKey })).body
    expect(history).toHaveLength(50)
    expect(history[0]).toEqual({
      deployedAt: t.clock.now(),
      url: expect.any(String),
      pages: ['privacyPolicy', 'nutritionLabels'].filter((p) => p === 'privacyPolicy'),
    })
    const versions = (await t.json('GET', `/api/apps/${appId}/policy-versions`, { token: u.apiKey })).body
    expect(versions).toHaveLength(20)
    expect(versions[0]).toMatchObject({ trigger: 'deploy', appName: 'Many' })
    const latest = (
      await t.json('GET', `/api/apps/${appId}/policy-versions/${versions[0].versionId}`, { token: u.apiKey })
    ).body
    expect(latest.policyData).toEqual({ 'app-info': { app_name: 'v51' } })
    expect(await t.deps.storage.list(t.deps.storage.appPath(appId, 'versions'))).toHaveLength(2)
  })

  it('keeps the previous version live when a render fails (500 DEPLOY_FAILED)', async () => {
    let fail = false
    const flaky: SiteRenderer = (input) => {
      if (fail) throw new Error('template exploded')
      return renderSite(input)
    }
    const t = createTestApp({
      env: { ...baseEnv, STORAGE_DIR: `/tmp/custodian-deploy-${crypto.randomUUID()}` },
    })
    t.deps.renderSite = flaky
    const u = await t.createUser()
    const { appId, slug } = await appWithPages(t, u, 'Flaky', ['policy'])
    expect((await deploy(t, u, appId)).status).toBe(200)
    const live = await (await t.request('GET', `/sites/${slug}/privacy`)).text()
    await t.json('PUT', `/api/apps/${appId}/policy`, {
      token: u.apiKey,
      body: { 'app-info': { app_name: 'Changed' } },
    })
    fail = true
    const r = await deploy(t, u, appId)
    expect(r.status).toBe(500)
    expectApiError(r.body, 'DEPLOY_FAILED')
    expect(await (await t.request('GET', `/sites/${slug}/privacy`)).text()).toBe(live)
    expect((await t.json('GET', `/api/apps/${appId}/deploy-history`, { token: u.apiKey })).body).toHaveLength(
      1,
    )
  })

  it('is limited to 10 deploys an hour', async () => {
    const t = app({ env: { RATE_LIMIT_ENABLED: 'true' } })
    const u = await t.createUser()
    const { appId } = await appWithPages(t, u, 'Limited', [])
    for (let i = 0; i < 10; i++) expect((await deploy(t, u, appId)).status).toBe(200)
    expectApiError((await deploy(t, u, appId)).body, 'RATE_LIMITED')
  })
})

describe('public hosting', () => {
  it('answers 304 to a matching ETag', async () => {
    const t = app()
    const u = await t.createUser()
    const { appId, slug } = await appWithPages(t, u, 'Etag', ['policy'])
    await deploy(t, u, appId)
    const first = await t.request('GET', `/sites/${slug}/privacy`)
    const etag = first.headers.get('etag') as string
    expect(etag).toMatch(/^"[0-9a-f]{24}"$/)
    expect(first.headers.get('cache-control')).toContain('max-age')
    const again = await t.request('GET', `/sites/${slug}/privacy`, { headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)
    expect(await again.text()).toBe('')
  })

  it('redirects the bare slug to its canonical address, and answers a plain 404 for unknown sites and pages', async () => {
    const t = app()
    const u = await t.createUser()
    const { appId, slug } = await appWithPages(t, u, 'Paths', [])
    const undeployed = await t.request('GET', `/sites/${slug}/`)
    expect(undeployed.status).toBe(404)
    await deploy(t, u, appId)
    const bare = await t.request('GET', `/sites/${slug}`)
    expect(bare.status).toBe(301)
    expect(bare.headers.get('location')).toBe(`/sites/${slug}/`)
    for (const path of ['/sites/nobody/', `/sites/${slug}/nothing`, `/sites/${slug}/.well-known/secret`]) {
      const r = await t.request('GET', path)
      expect({ path, status: r.status }).toEqual({ path, status: 404 })
      expect(r.headers.get('content-type')).toContain('text/html')
    }
    // A climbing path is normalised away before routing: it never reaches a site's files.
    expect((await t.request('GET', `/sites/${slug}/../../etc/passwd`)).status).toBe(404)
  })

  it('serves uploaded well-known files under the site', async () => {
    const t = app()
    const u = await t.createUser()
    const { appId, slug } = await appWithPages(t, u, 'Wk', [])
    await t.json('POST', `/api/apps/${appId}/well-known/apple-developer-domain-association.txt`, {
      token: u.apiKey,
      rawBody: 'verification-token',
      headers: { 'content-type': 'text/plain' },
    })
    await deploy(t, u, appId)
    const r = await t.request('GET', `/sites/${slug}/.well-known/apple-developer-domain-association.txt`)
    expect(r.status).toBe(200)
    expect(await r.text()).toBe('verification-token')
  })

  it('serves an active custom domain by Host header, and leaves the API paths to the API', async () => {
    const t = app()
    const u = await t.createUser()
    const { appId } = await appWithPages(t, u, 'Domain', ['policy'])
    await deploy(t, u, appId)
    await exec(
      t.store.orm
        .update(sites)
        .set({ customDomain: 'shop.example.com', domainStatus: 'active' })
        .where(eq(sites.appId, appId)),
    )
    const onDomain = (path: string) => t.request('GET', path, { headers: { host: 'shop.example.com' } })
    const privacy = await onDomain('/privacy')
    expect(privacy.status).toBe(200)
    expect(await privacy.text()).toContain('Privacy Policy')
    expect(privacy.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]+$/)
    expect(privacy.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect((await onDomain('/')).status).toBe(200)
    // The API and health paths answer as themselves whatever the Host (a domain captures nothing).
    expect((await onDomain('/api/status')).status).toBe(401)
    expect(
      (await t.request('GET', '/api/status', { token: u.apiKey, headers: { host: 'shop.example.com' } }))
        .status,
    ).toBe(200)
    expect((await onDomain('/healthz')).status).toBe(200)
    // Attached but not active yet: a plain 404; an unknown host reaches the API as usual.
    await exec(t.store.orm.update(sites).set({ domainStatus: 'pending_dns' }).where(eq(sites.appId, appId)))
    // Written behind the services' back: announce it as they do (db/change-epochs.ts).
    t.store.epochs.noteWrites()
    expect((await onDomain('/privacy')).status).toBe(404)
    expect(
      (await t.request('GET', '/api/status', { token: u.apiKey, headers: { host: 'other.example.org' } }))
        .status,
    ).toBe(200)
    expect((await deploy(t, u, appId)).body.customDomainUrl).toBeUndefined()
  })

  it('stops serving a deleted app', async () => {
    const t = app()
    const u = await t.createUser()
    const { appId, slug } = await appWithPages(t, u, 'Gone', ['policy'])
    await deploy(t, u, appId)
    expect((await t.request('GET', `/sites/${slug}/privacy`)).status).toBe(200)
    await t.request('DELETE', `/api/apps/${appId}`, { token: u.apiKey })
    expect((await t.request('GET', `/sites/${slug}/privacy`)).status).toBe(404)
    expect(await t.deps.storage.exists(t.deps.storage.appPath(appId))).toBe(false)
  })

  it('stops serving every page of an erased account at once, though they were served from memory', async () => {
    const t = app()
    const u = await t.createUser()
    const { appId, slug } = await appWithPages(t, u, 'Erased', ['policy'])
    await deploy(t, u, appId)
    for (let i = 0; i < 3; i++) expect((await t.request('GET', `/sites/${slug}/privacy`)).status).toBe(200)
    expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
    const after = await t.request('GET', `/sites/${slug}/privacy`)
    expect(after.status).toBe(404)
    expect(await after.text()).not.toContain('Privacy Policy')
  })
})
