import { describe, expect, it } from 'bun:test'
import { Jimp } from 'jimp'
import { expectApiError } from '../support/envelopes'
import { createTestApp, type TestApp, type TestUser } from '../support/harness'
import { hugePngHeader, jpegBytes, pngBytes, webpBytes, withPngText } from '../support/images'

const env = { RATE_LIMIT_ENABLED: 'false' }
async function appOf(t: TestApp, u: TestUser, appName = 'My App') {
  return (await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName } })).body.appId as string
}

describe('GET/PATCH /api/apps/:appId/site', () => {
  it('answers the full Site object', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const appId = await appOf(t, u)
    const r = await t.json('GET', `/api/apps/${appId}/site`, { token: u.apiKey })
    expect(r.body).toEqual({
      appName: 'My App',
      description: null,
      slug: 'my-app',
      iconUrl: null,
      iconColor: null,
      customDomain: null,
      smartBanner: null,
      wellKnownFiles: {
        appleDeveloperDomainAssociation: false,
        appleDeveloperMerchantId: false,
        appleWalletOrderType: false,
      },
      searchIndexing: true,
      customHomepageHtml: null,
      subscriptionId: null,
      subscriptionStatus: null,
      cancelAtPeriodEnd: false,
      currentPeriodEnd: null,
      deployed: false,
      deployedAt: null,
      createdAt: t.clock.now(),
      updatedAt: t.clock.now(),
    })
  })

  it('updates only the fields sent and answers the merged site', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const appId = await appOf(t, u)
    t.clock.advance(1000)
    const r = await t.json('PATCH', `/api/apps/${appId}/site`, {
      token: u.apiKey,
      body: { description: 'Forecasts', searchIndexing: false, slug: 'weather', appName: 'Weather' },
    })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({
      appName: 'Weather',
      description: 'Forecasts',
      slug: 'weather',
      searchIndexing: false,
      updatedAt: t.clock.now(),
    })
    const again = await t.json('PATCH', `/api/apps/${appId}/site`, {
      token: u.apiKey,
      body: { description: null },
    })
    expect(again.body).toMatchObject({
      appName: 'Weather',
      description: null,
      slug: 'weather',
      searchIndexing: false,
    })
    expect((await t.json('GET', `/api/apps/${appId}`, { token: u.apiKey })).body.appName).toBe('Weather')
  })

  it('stores the custom homepage sanitised, and "" resets it', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const appId = await appOf(t, u)
    const html =
      '<h1 onclick="steal()">Hi</h1><script>alert(1)</script><a href="javascript:alert(1)">x</a><p style="color: red">ok</p>'
    const r = await t.json('PATCH', `/api/apps/${appId}/site`, {
      token: u.apiKey,
      body: { customHomepageHtml: html },
    })
    expect(r.body.customHomepageHtml).toBe('<h1>Hi</h1><a>x</a><p style="color:red">ok</p>')
    const reset = await t.json('PATCH', `/api/apps/${appId}/site`, {
      token: u.apiKey,
      body: { customHomepageHtml: '' },
    })
    expect(reset.body.customHomepageHtml).toBeNull()
    const big = await t.json('PATCH', `/api/apps/${appId}/site`, {
      token: u.apiKey,
      body: { customHomepageHtml: 'é'.repeat(30_000) },
    })
    expect(big.status).toBe(400)
    expect(expectApiError(big.body, 'VALIDATION_FAILED').details[0].path).toEqual(['customHomepageHtml'])
  })

  it('refuses malformed, reserved and taken slugs', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const other = await t.createUser()
    const appId = await appOf(t, u)
    await appOf(t, other, 'Taken Name')
    for (const slug of ['', 'UPPER', '-lead', 'trail-', 'two--hyphens', 'a'.repeat(64), 'spa ce', 'ünï']) {
      const r = await t.json('PATCH', `/api/apps/${appId}/site`, { token: u.apiKey, body: { slug } })
      expect({ slug, status: r.status }).toEqual({ slug, status: 400 })
      expect(expectApiError(r.body, 'VALIDATION_FAILED').details[0].path).toEqual(['slug'])
    }
    const reserved = await t.json('PATCH', `/api/apps/${appId}/site`, {
      token: u.apiKey,
      body: { slug: 'billing' },
    })
    expect(reserved.status).toBe(409)
    expectApiError(reserved.body, 'SLUG_RESERVED')
    const taken = await t.json('PATCH', `/api/apps/${appId}/site`, {
      token: u.apiKey,
      body: { slug: 'taken-name' },
    })
    expect(taken.status).toBe(409)
    expectApiError(taken.body, 'SLUG_TAKEN')
    expect(
      (await t.json('PATCH', `/api/apps/${appId}/site`, { token: u.apiKey, body: { slug: 'my-app' } }))
        .status,
    ).toBe(200)
    expect(
      (await t.json('PATCH', `/api/apps/${appId}/site`, { token: u.apiKey, body: { slug: 'a'.repeat(63) } }))
        .status,
    ).toBe(200)
  })

  it('lets exactly one of 20 concurrent PATCHes take a slug', async () => {
    const t = createTestApp({ env })
    const contenders = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const u = await t.createUser()
        return { u, appId: await appOf(t, u, `Contender ${i}`) }
      }),
    )
    const answers = await Promise.all(
      contenders.map(({ u, appId }) =>
        t.json('PATCH', `/api/apps/${appId}/site`, { token: u.apiKey, body: { slug: 'the-one' } }),
      ),
    )
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1)
    const losers = answers.filter((a) => a.status !== 200)
    expect(losers).toHaveLength(19)
    for (const l of losers) expectApiError(l.body, 'SLUG_TAKEN')
  })
})

describe('smart banner', () => {
  it('is 404 until saved, then answers what was saved', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const appId = await appOf(t, u)
    expect((await t.json('GET', `/api/apps/${appId}/site/smart-banner`, { token: u.apiKey })).status).toBe(
      404,
    )
    const banner = {
      appStoreId: '1234567890',
      affiliateData: 'at=1',
      appArgument: 'myapp://x',
      appClipBundleId: 'com.x.clip',
      appClipDisplay: 'card',
    }
    const put = await t.json('PUT', `/api/apps/${appId}/site/smart-banner`, { token: u.apiKey, body: banner })
    expect(put.status).toBe(200)
    expect(put.body).toEqual(banner)
    expect((await t.json('GET', `/api/apps/${appId}/site/smart-banner`, { token: u.apiKey })).body).toEqual(
      banner,
    )
    expect((await t.json('GET', `/api/apps/${appId}/site`, { token: u.apiKey })).body.smartBanner).toEqual(
      banner,
    )
    const minimal = await t.json('PUT', `/api/apps/${appId}/site/smart-banner`, {
      token: u.apiKey,
      body: { appStoreId: '42' },
    })
    expect(minimal.body).toEqual({ appStoreId: '42' })
  })

  it('validates every field', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const appId = await appOf(t, u)
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'appStoreId'],
      [{ appStoreId: 'abc' }, 'appStoreId'],
      [{ appStoreId: '1'.repeat(21) }, 'appStoreId'],
      [{ appStoreId: '1', affiliateData: 'x'.repeat(201) }, 'affiliateData'],
      [{ appStoreId: '1', appArgument: 'x'.repeat(501) }, 'appArgument'],
      [{ appStoreId: '1', appClipBundleId: 'x'.repeat(201) }, 'appClipBundleId'],
      [{ appStoreId: '1', appClipDisplay: 'popup' }, 'appClipDisplay'],
    ]
    for (const [body, field] of cases) {
      const r = await t.json('PUT', `/api/apps/${appId}/site/smart-banner`, { token: u.apiKey, body })
      expect({ field, status: r.status }).toEqual({ field, status: 400 })
      expect(expectApiError(r.body, 'VALIDATION_FAILED').details.map((d: any) => d.path[0])).toContain(field)
    }
  })
})

describe('well-known files', () => {
  it('stores the three allowed files and sets their flags', async () => {
    const t = createTestApp({ env: { ...env, STORAGE_DIR: `/tmp/custodian-wk-${crypto.randomUUID()}` } })
    const u = await t.createUser()
    const appId = await appOf(t, u)
    const names = {
      'apple-developer-domain-association.txt': 'appleDeveloperDomainAssociation',
      'apple-developer-merchantid-domain-association': 'appleDeveloperMerchantId',
      'apple-wallet-order-type-association': 'appleWalletOrderType',
    }
    for (const [fileName, flag] of Object.entries(names)) {
      const r = await t.json('POST', `/api/apps/${appId}/well-known/${fileName}`, {
        token: u.apiKey,
        rawBody: `content of ${fileName}`,
        headers: { 'content-type': 'application/octet-stream' },
      })
      expect(r.status).toBe(200)
      expect(r.body).toEqual({ success: true, fileName })
      const site = (await t.json('GET', `/api/apps/${appId}/site`, { token: u.apiKey })).body
      expect(site.wellKnownFiles[flag]).toBe(true)
      expect(
        new TextDecoder().decode(
          (await t.deps.storage.read(t.deps.storage.appPath(appId, 'well-known', fileName))) ?? undefined,
        ),
      ).toBe(`content of ${fileName}`)
    }
  })

  it('refuses other names, empty and oversized files', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const appId = await appOf(t, u)
    const post = (name: string, body: string | Uint8Array) =>
      t.json('POST', `/api/apps/${appId}/well-known/${name}`, {
        token: u.apiKey,
        rawBody: body,
        headers: { 'content-type': 'text/plain' },
      })
    const other = await post('apple-app-site-association', 'x')
    expect(other.status).toBe(400)
    expect(expectApiError(other.body, 'VALIDATION_FAILED').details[0].path).toEqual(['fileName'])
    expect((await post('..%2F..%2Fetc%2Fpasswd', 'x')).status).toBe(400)
    expect((await post('apple-developer-domain-association.txt', '')).status).toBe(400)
    expect((await post('apple-developer-domain-association.txt', 'x'.repeat(100 * 1024 + 1))).status).toBe(
      400,
    )
  })
})

describe('icon upload', () => {
  const upload = (t: TestApp, u: TestUser, appId: string, body: Uint8Array | FormData, type?: string) =>
    t.json('POST', `/api/apps/${appId}/site/icon`, {
      token: u.apiKey,
      rawBody: body,
      headers: type ? { 'content-type': type } : {},
    })

  it('accepts PNG, JPEG and WebP, raw or multipart, stores a 512×512 PNG and its dominant colour', async () => {
    const t = createTestApp({ env: { ...env, STORAGE_DIR: `/tmp/custodian-icon-${crypto.randomUUID()}` } })
    const u = await t.createUser()
    const appId = await appOf(t, u)
    const form = new FormData()
    form.set('file', new Blob([await pngBytes()], { type: 'image/png' }), 'icon.png')
    const uploads: [string, Uint8Array | FormData, string | undefined][] = [
      ['png', await pngBytes(), 'image/png'],
      ['jpeg', await jpegBytes(), 'image/jpeg'],
      ['webp', await webpBytes(), 'image/webp'],
      ['multipart', form, undefined],
    ]
    for (const [label, body, type] of uploads) {
      const r = await upload(t, u, appId, body, type)
      expect({ label, status: r.status }).toEqual({ label, status: 200 })
      expect(r.body.iconUrl).toMatch(
        new RegExp(`^http://custodian\\.test/files/apps/${appId}/icons/icon-[0-9a-f]{16}\\.png$`),
      )
      // Two thirds of the 300×200 source are blue; cropped to the centre square, blue still dominates.
      expect(r.body.iconColor).toMatch(/^#(1|2)[0-9a-f]{1}(4|5)[0-9a-f](b|c)[0-9a-f]$/)
      const served = await t.request('GET', new URL(r.body.iconUrl).pathname)
      expect(served.status).toBe(200)
      expect(served.headers.get('content-type')).toBe('image/png')
      const image = await Jimp.fromBuffer(Buffer.from(await served.arrayBuffer()))
      expect([image.width, image.height]).toEqual([512, 512])
    }
    const site = (await t.json('GET', `/api/apps/${appId}/site`, { token: u.apiKey })).body
    expect(site.iconUrl).toMatch(/icon-[0-9a-f]{16}\.png$/)
  })

  it('strips metadata from what it stores', async () => {
    const t = createTestApp({ env: { ...env, STORAGE_DIR: `/tmp/custodian-icon-${crypto.randomUUID()}` } })
    const u = await t.createUser()
    const appId = await appOf(t, u)
    const tagged = withPngText(await pngBytes(), 'Author', 'GPS 48.8584 2.2945 secret-location')
    expect(new TextDecoder('latin1').decode(tagged)).toContain('secret-location')
    const r = await upload(t, u, appId, tagged, 'image/png')
    expect(r.status).toBe(200)
    const stored = new Uint8Array(
      await (await t.request('GET', new URL(r.body.iconUrl).pathname)).arrayBuffer(),
    )
    const text = new TextDecoder('latin1').decode(stored)
    expect(text).not.toContain('secret-location')
    expect(text).not.toContain('tEXt')
  })

  it('refuses corrupt, empty, oversized, huge and wrong-type uploads with 400 VALIDATION_FAILED', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const appId = await appOf(t, u)
    const png = await pngBytes()
    const cases: [string, Uint8Array, string][] = [
      ['empty', new Uint8Array(0), 'image/png'],
      ['corrupt', png.slice(0, 60), 'image/png'],
      [
        'not an image',
        new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"></svg>'),
        'image/png',
      ],
      ['wrong content type', png, 'image/svg+xml'],
      ['gif', new TextEncoder().encode('GIF89a\x01\x00\x01\x00'), 'image/gif'],
      ['oversized', new Uint8Array(2 * 1024 * 1024 + 1), 'image/png'],
      ['decompression bomb', hugePngHeader(), 'image/png'],
    ]
    for (const [label, body, type] of cases) {
      const r = await upload(t, u, appId, body, type)
      expect({ label, status: r.status }).toEqual({ label, status: 400 })
      expect(expectApiError(r.body, 'VALIDATION_FAILED').details[0].path).toEqual(['file'])
    }
    expect((await t.json('GET', `/api/apps/${appId}/site`, { token: u.apiKey })).body.iconUrl).toBeNull()
  })

  it('answers a plain 404 for stored files that do not exist', async () => {
    const t = createTestApp({ env })
    expect((await t.request('GET', '/files/apps/-Nnope/icons/icon-0000000000000000.png')).status).toBe(404)
    expect((await t.request('GET', '/files/apps/..%2F..%2Fetc/icons/passwd')).status).toBe(404)
  })
})
