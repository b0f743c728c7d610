import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { checkCertificate } from '../../src/services/certificate-format'
import { CHROMIUM, launchChromium } from '../support/browser'
import { createTestApp, type TestUser } from '../support/harness'
import { registerEndpoint, WEBHOOK_TEST_ENV } from '../support/webhook-receiver'

// The operator console in a real headless browser (Debian's chromium, driven by playwright-core):
// the flows an operator runs, the refusals, axe-core on every page, screenshots as artifacts.
const SCREENSHOTS = resolve(import.meta.dir, '../artifacts/console')
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

describe.skipIf(!CHROMIUM)(
  'the console in headless Chromium (skipped where chromium is not installed)',
  () => {
    const t = createTestApp({ env: { ...WEBHOOK_TEST_ENV } })
    let server: ReturnType<typeof Bun.serve>
    let attacker: ReturnType<typeof Bun.serve>
    let browser: Browser
    let origin: string
    let operator: TestUser
    let target: TestUser
    let bystander: TestUser
    let endpointId: string
    let requestId: string

    beforeAll(async () => {
      mkdirSync(SCREENSHOTS, { recursive: true })
      server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (request) => t.app.handle(request) })
      origin = `http://127.0.0.1:${server.port}`
      operator = await t.createUser({ operator: true, email: 'operator@example.com' })
      target = await t.createUser({ email: 'erase-me@example.com' })
      bystander = await t.createUser({ email: 'bystander@example.com' })
      const app = await t.json('POST', '/api/apps', { token: target.apiKey, body: { appName: 'Target app' } })
      expect(app.status).toBe(201)
      const endpoint = await registerEndpoint(t, operator.session, {
        url: 'http://127.0.0.1:9/hooks',
        events: ['*'],
      })
      endpointId = endpoint.id
      const now = t.clock.now()
      await t.exec(
        `INSERT INTO webhook_deliveries (id, event_id, event_type, endpoint_id, ordering_key, status, attempts, next_attempt_at, last_status_code, created_at, updated_at)
       VALUES ('whd_failed', 'evt_x', 'account.created', ?, 'k', 'failed', 8, ?, 503, ?, ?)`,
        endpointId,
        now,
        now,
        now,
      )
      const request = await t.json('POST', '/v1/admin/requests', {
        token: operator.session,
        body: { type: 'access', user_id: bystander.user.id },
      })
      requestId = request.body.id
      // Something to show on the overview (its screenshot is the README's).
      const extra = []
      for (let i = 0; i < 4; i++) extra.push(await t.createUser())
      await t.exec(
        'UPDATE users SET soft_deleted_at = ?1, delete_scheduled_at = ?2 WHERE id = ?3',
        now,
        now + 30 * 86_400_000,
        (extra[0] as TestUser).user.id,
      )
      await t.exec('UPDATE webhook_endpoints SET failing_since = ?1 WHERE id = ?2', now, endpointId)
      await t.exec(
        "INSERT INTO quota_refusals (usage_date, quota, refusals) VALUES (?1, 'daily_creates', 12)",
        new Date(now).toISOString().slice(0, 10),
      )
      for (let day = 0; day < 20; day++)
        await t.exec(
          'INSERT INTO quota_usage (team_id, usage_date, sandbox_creates, gb_hours, updated_at) VALUES (?1, ?2, ?3, 0, ?4)',
          bystander.team.id,
          new Date(now - day * 86_400_000).toISOString().slice(0, 10),
          (day * 7) % 23,
          now,
        )
      // A page of another origin on this machine, posting a console form without its token.
      attacker = Bun.serve({
        port: 0,
        hostname: '127.0.0.1',
        fetch: () =>
          new Response(
            `<!doctype html><form id="f" method="post" action="${origin}/console/accounts/${bystander.user.id}/legal-hold"><input name="reason" value="forged"></form><script>document.getElementById('f').submit()</script>`,
            { headers: { 'content-type': 'text/html' } },
          ),
      })
      browser = await launchChromium()
    })
    afterAll(async () => {
      await browser?.close()
      server?.stop(true)
      attacker?.stop(true)
      t.close()
    })

    /** A page that may reach only the console's own server (and the test's attacker page). */
    async function openPage(context: BrowserContext) {
      const page = await context.newPage()
      const problems: string[] = []
      page.on('pageerror', (error) => problems.push(error.message))
      page.on('console', (message) => {
        if (message.type() === 'error' && !/status of 40[0-9]/.test(message.text()))
          problems.push(message.text())
      })
      await page.route('**/*', (route) => {
        const url = route.request().url()
        if (url.startsWith(origin) || url.startsWith(`http://127.0.0.1:${attacker.port}`))
          return route.continue()
        problems.push(`external request: ${url}`)
        return route.abort()
      })
      return { page, problems }
    }

    const shot = (page: Page, name: string) =>
      page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
    const notice = (page: Page) => page.locator('.notice').textContent()

    it('signs in, finds and opens an account, holds and releases it, erases it after a dry run, verifies its certificate, retries a delivery and signs out', async () => {
      const context = await browser.newContext({
        acceptDownloads: true,
        viewport: { width: 1280, height: 900 },
      })
      const { page, problems } = await openPage(context)
      try {
        await page.goto(`${origin}/console`)
        expect(new URL(page.url()).pathname).toBe('/console/sign-in')
        await shot(page, 'sign-in')
        await page.getByLabel('API key or session token').fill(operator.apiKey)
        await page.getByRole('button', { name: 'Sign in' }).click()
        await page.waitForURL(`${origin}/console`)
        expect(await page.locator('h1').textContent()).toBe('Overview')

        await page.getByRole('link', { name: 'Accounts', exact: true }).click()
        await page.getByLabel('Email, account id, custom domain or key prefix').fill('erase-me')
        await page.keyboard.press('Enter')
        await page.getByRole('link', { name: 'erase-me@example.com' }).click()
        expect(await page.locator('h1').textContent()).toBe('erase-me@example.com')
        await shot(page, 'account')

        await page.getByLabel('Reason (no personal data)').fill('Litigation 2026-41')
        await page.getByRole('button', { name: 'Place hold' }).click()
        expect(await notice(page)).toBe('Legal hold placed.')
        await page.getByRole('button', { name: 'Release hold' }).click()
        expect(await notice(page)).toBe('Legal hold released.')

        await page.getByRole('link', { name: /Erase now/ }).click()
        expect(await page.locator('main').textContent()).toContain('Dry run: nothing has been erased yet')
        await shot(page, 'erase-dry-run')
        const confirm = page.getByLabel(/Type the account's email address/)
        await confirm.fill('someone-else@example.com')
        await page.getByRole('button', { name: 'Erase this account now' }).click()
        expect(await page.getByRole('alert').textContent()).toContain('does not match')
        expect(await t.row('SELECT id FROM users WHERE id = ?', target.user.id)).toBeDefined()
        await page.getByLabel(/Type the account's email address/).fill('erase-me@example.com')
        await page.getByRole('button', { name: 'Erase this account now' }).click()
        await page.waitForURL(/\/console\/erasures\/[^/?]+/)
        expect(await notice(page)).toBe('Erased: step done.')
        expect(await t.row('SELECT id FROM users WHERE id = ?', target.user.id)).toBeUndefined()
        expect(await page.locator('main').textContent()).toContain('Number 1 of the chain')
        await page.getByRole('link', { name: 'Verify it' }).click()
        expect(await page.getByRole('status').last().textContent()).toContain('Valid: ')
        await shot(page, 'erasure')
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.getByRole('link', { name: 'Download the certificate' }).click(),
        ])
        const certificate = readFileSync((await download.path()) as string, 'utf8')
        expect((await checkCertificate(certificate)).ok).toBe(true)

        await page.getByRole('link', { name: 'Webhooks' }).click()
        await page.getByRole('link', { name: endpointId }).click()
        await page.getByRole('button', { name: 'Retry whd_failed' }).click()
        expect(await notice(page)).toBe('Delivery whd_failed will be sent again now.')
        expect(await t.row("SELECT status FROM webhook_deliveries WHERE id = 'whd_failed'")).toEqual({
          status: 'pending',
        })
        await shot(page, 'webhook-endpoint')

        for (const [name, label] of [
          ['erasures', 'Erasures'],
          ['requests', 'Requests'],
          ['quotas', 'Quotas & usage'],
        ] as const) {
          await page.getByRole('link', { name: label, exact: true }).click()
          await shot(page, name)
        }

        // A page elsewhere on this machine posts a console form with the operator's cookie but
        // without the form's token: refused, nothing done.
        const forged = await page.goto(`http://127.0.0.1:${attacker.port}/`)
        await page.waitForURL(`${origin}/console/accounts/${bystander.user.id}/legal-hold`)
        expect(forged).not.toBeNull()
        expect(await page.getByRole('alert').textContent()).toContain('CSRF check failed')
        expect(await t.rows('SELECT user_id FROM legal_holds WHERE user_id = ?', bystander.user.id)).toEqual(
          [],
        )

        await page.goto(`${origin}/console`)
        await shot(page, 'overview')
        await page.getByRole('button', { name: 'Sign out' }).click()
        await page.waitForURL(/\/console\/sign-in/)
        expect(await notice(page)).toBe('Signed out.')
        await page.goto(`${origin}/console/accounts`)
        expect(new URL(page.url()).pathname).toBe('/console/sign-in')
        expect(problems.filter((p) => !p.includes('Failed to load resource'))).toEqual([])
      } finally {
        await context.close()
      }
    }, 90_000)

    it('refuses a non-operator at sign-in with 403 (the form used from the keyboard alone)', async () => {
      const context = await browser.newContext()
      const { page } = await openPage(context)
      try {
        await page.goto(`${origin}/console/sign-in`)
        // Tab order: the skip link first, then on to the credential field.
        await page.keyboard.press('Tab')
        expect(await page.evaluate(() => (globalThis as any).document.activeElement?.textContent)).toBe(
          'Skip to content',
        )
        for (let i = 0; i < 5; i++) {
          if ((await page.evaluate(() => (globalThis as any).document.activeElement?.id)) === 'token') break
          await page.keyboard.press('Tab')
        }
        expect(await page.evaluate(() => (globalThis as any).document.activeElement?.id)).toBe('token')
        await page.keyboard.type(bystander.apiKey)
        const [response] = await Promise.all([
          page.waitForResponse(
            (r) => r.url() === `${origin}/console/sign-in` && r.request().method() === 'POST',
          ),
          page.keyboard.press('Enter'),
        ])
        expect(response.status()).toBe(403)
        expect(await page.getByRole('alert').textContent()).toBe('The console is for operators.')
        expect((await context.cookies()).some((c) => c.name === 'custodian_console')).toBe(false)
      } finally {
        await context.close()
      }
    }, 30_000)

    it('has no serious or critical axe-core violation on any page', async () => {
      // axe is injected as a script: this context bypasses the console's CSP, which allows none.
      const context = await browser.newContext({ bypassCSP: true })
      const { page } = await openPage(context)
      try {
        await page.goto(`${origin}/console/sign-in`)
        const pages = ['/console/sign-in']
        await page.getByLabel('API key or session token').fill(operator.apiKey)
        await page.getByRole('button', { name: 'Sign in' }).click()
        await page.waitForURL(`${origin}/console`)
        const erasure = (await t.row<{ id: string }>('SELECT id FROM account_deletions LIMIT 1'))?.id
        pages.push(
          '/console',
          '/console/accounts',
          `/console/accounts/${bystander.user.id}`,
          `/console/accounts/${bystander.user.id}/erase`,
          '/console/erasures',
          ...(erasure ? [`/console/erasures/${erasure}?verify=1`] : []),
          '/console/requests',
          `/console/requests/${requestId}`,
          '/console/webhooks',
          `/console/webhooks/${endpointId}`,
          '/console/quotas',
        )
        const found: Record<string, string[]> = {}
        for (const path of pages) {
          await page.goto(`${origin}${path}`)
          await page.addScriptTag({ content: AXE })
          const violations = await page.evaluate(async () => {
            const result = await (globalThis as any).axe.run((globalThis as any).document, {
              runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
            })
            return result.violations
              .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
              .map(
                (v: any) =>
                  `${v.id} (${v.impact}): ${v.nodes.map((n: any) => n.target.join(' ')).join(', ')}`,
              )
          })
          if (violations.length) found[path] = violations
        }
        expect(found).toEqual({})
        expect(pages.length).toBeGreaterThanOrEqual(12)
      } finally {
        await context.close()
      }
    }, 90_000)
  },
)
