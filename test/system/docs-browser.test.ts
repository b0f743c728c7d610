import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { CHROMIUM, launchChromium } from '../support/browser'
import { createTestApp } from '../support/harness'

// /docs in a real headless browser (Debian's chromium, driven by playwright-core), with every
// request that leaves the loopback server blocked: the page must render from its own assets.
// Without chromium (outside CI) this is reported as skipped, in bun's count.
describe.skipIf(!CHROMIUM)('with headless Chromium (skipped where chromium is not installed)', () => {
  const t = createTestApp()
  let server: ReturnType<typeof Bun.serve>
  beforeAll(async () => {
    server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (request) => t.app.handle(request) })
  })
  afterAll(() => server.stop(true))

  describe('/docs in headless Chromium', () => {
    it('renders offline from local assets and lists the routes of both dialects', async () => {
      const browser = await launchChromium()
      try {
        const page = await browser.newPage()
        const origin = `http://127.0.0.1:${server.port}`
        const external: string[] = []
        await page.route('**/*', (route) => {
          if (route.request().url().startsWith(origin)) return route.continue()
          external.push(route.request().url())
          return route.abort()
        })
        const errors: string[] = []
        page.on('pageerror', (error) => errors.push(error.message))
        // What the page shows, not how fast: load time is measured by `bun run bench docs`
        // (a timing bound here failed CI when the machine was busy).
        await page.goto(`${origin}/docs`, { waitUntil: 'commit' })
        await page.waitForSelector('.opblock', { timeout: 30_000 })
        const paths = await page.$$eval('.opblock-summary-path', (nodes) =>
          nodes.map((n) => n.getAttribute('data-path') ?? n.textContent ?? ''),
        )
        expect(paths).toContain('/api/status')
        expect(paths).toContain('/v1/sandboxes')
        expect(paths).toContain('/api/apps/{appId}/deploy')
        expect(paths.length).toBeGreaterThan(60)
        const tags = await page.$$eval('.opblock-tag', (nodes) => nodes.map((n) => n.textContent ?? ''))
        expect(tags.some((tag) => tag.includes('/api'))).toBe(true)
        expect(tags.some((tag) => tag.includes('/v1'))).toBe(true)
        expect(external).toEqual([])
        expect(errors).toEqual([])
      } finally {
        await browser.close()
      }
    }, 60_000)
  })
})
