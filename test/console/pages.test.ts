import { describe, expect, it } from 'bun:test'
import { consolePage, postForm, signIn } from '../support/console'
import { createTestApp } from '../support/harness'

async function setUp() {
  const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
  const operator = await t.createUser({ operator: true, email: 'ops@example.com' })
  return { t, operator, session: await signIn(t, operator.apiKey) }
}

const PAGES = [
  '/console',
  '/console/accounts',
  '/console/erasures',
  '/console/requests',
  '/console/webhooks',
  '/console/quotas',
]

/** The figure of an overview tile. */
const figure = (html: string, label: string) =>
  Number(
    new RegExp(`<span class="value">([\\d,]+)</span> <span class="label">${label}</span>`)
      .exec(html)?.[1]
      ?.replace(/,/g, ''),
  )

describe('console pages', () => {
  it('are HTML under a strict CSP, with no script, uncached, unframeable', async () => {
    const { t, operator, session } = await setUp()
    for (const path of [
      ...PAGES,
      `/console/accounts/${operator.user.id}`,
      `/console/accounts/${operator.user.id}/erase`,
      '/console/sign-in',
    ]) {
      const page = await consolePage(t, session, path)
      expect({ path, status: page.status }).toEqual({ path, status: 200 })
      expect(page.headers.get('content-security-policy')).toBe(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      )
      expect(page.headers.get('cache-control')).toBe('no-store')
      expect(page.headers.get('x-frame-options')).toBe('DENY')
      expect(page.html).not.toMatch(/<script|\sstyle="|\son\w+="/i)
    }
  })

  it('answers failures as pages in the console (404, 400), never as JSON', async () => {
    const { t, session } = await setUp()
    const missing = await consolePage(t, session, '/console/accounts/019bc186-0000-7000-8000-000000000000')
    expect(missing.status).toBe(404)
    expect(missing.headers.get('content-type')).toContain('text/html')
    expect(missing.html).toContain('No such account')
    const badCursor = await consolePage(t, session, '/console/erasures?after=%%%')
    expect(badCursor.status).toBe(400)
    expect(badCursor.headers.get('content-type')).toContain('text/html')
    expect((await consolePage(t, session, '/console/no-such-page')).status).toBe(404)
  })

  it('shows only notices this server signed: a link made elsewhere cannot put words on a console page', async () => {
    const { t, operator, session } = await setUp()
    const forged = await consolePage(
      t,
      session,
      '/console?notice=Your%20session%20expired%3A%20call%20%2B1%20555',
    )
    expect(forged.html).not.toContain('class="notice"')
    const done = await postForm(t, session, `/console/accounts/${operator.user.id}/tier`, { tier: 'pro' })
    const location = done.location as string
    expect(location).toContain('ns=')
    expect((await consolePage(t, session, location)).html).toContain('Quota tier set to')
    const altered = location.replace(/notice=[^&]+/, 'notice=Something%20else')
    expect((await consolePage(t, session, altered)).html).not.toContain('class="notice"')
  })

  it('draws creates per day as 30 bars, with the figures in a table too', async () => {
    const { t, operator, session } = await setUp()
    const today = new Date(t.clock.now()).toISOString().slice(0, 10)
    await t.exec(
      'INSERT INTO quota_usage (team_id, usage_date, sandbox_creates, gb_hours, updated_at) VALUES (?1, ?2, 17, 0, 0)',
      operator.team.id,
      today,
    )
    const page = (await consolePage(t, session, '/console/quotas')).html
    expect(page.match(/<rect class="bar"/g)?.length).toBe(30)
    expect(page).toContain(`<title>${today}: 17</title>`)
    expect(page).toContain('most in a day: 17')
    expect(page).toContain(`<td>${today}</td><td>17</td>`)
  })

  it('shows hostile names as text', async () => {
    const { t, session } = await setUp()
    const user = await t.createUser()
    const created = await t.json('POST', '/api/apps', {
      token: user.apiKey,
      body: { appName: '<img src=x onerror=alert(1)>' },
    })
    expect(created.status).toBe(201)
    const page = await consolePage(t, session, `/console/accounts/${user.user.id}`)
    expect(page.html).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(page.html).not.toContain('<img src=x')
  })

  it('finds accounts by email, id, custom domain and key prefix', async () => {
    const { t, session } = await setUp()
    const alice = await t.createUser({ email: 'alice@acme.test' })
    const bob = await t.createUser({ email: 'bob@other.test' })
    const app = await t.json('POST', '/api/apps', { token: bob.apiKey, body: { appName: 'Bob site' } })
    expect(
      await t.exec(`UPDATE sites SET custom_domain = 'shop.bob.test' WHERE app_id = ?`, app.body.appId),
    ).toBe(1)
    const search = async (q: string) =>
      (await consolePage(t, session, `/console/accounts?q=${encodeURIComponent(q)}`)).html
    expect(await search('acme')).toContain(`/console/accounts/${alice.user.id}`)
    expect(await search('acme')).not.toContain(`/console/accounts/${bob.user.id}`)
    expect(await search(alice.user.id)).toContain(`/console/accounts/${alice.user.id}`)
    expect(await search('shop.bob.test')).toContain(`/console/accounts/${bob.user.id}`)
    const prefix = (
      await t.row<{ key_prefix: string }>('SELECT key_prefix FROM api_keys WHERE user_id = ?', bob.user.id)
    )?.key_prefix as string
    const byPrefix = await search(prefix.slice(0, 10))
    expect(byPrefix).toContain('Exact matches')
    expect(byPrefix).toContain(`/console/accounts/${bob.user.id}`)
    expect(await search('nobody-at-all')).toContain('No accounts match.')
  })

  it('pages the account list by keyset: every account once, in order', async () => {
    const { t, session } = await setUp()
    for (let i = 0; i < 60; i++)
      await t.createUser({ email: `paged${String(i).padStart(2, '0')}@example.com` })
    const seen: string[] = []
    let path: string | null = '/console/accounts?q=paged'
    while (path) {
      const page = await consolePage(t, session, path)
      seen.push(...[...page.html.matchAll(/>(paged\d\d@example\.com)</g)].map((m) => m[1] as string))
      const next = /<a href="([^"]+)" rel="next">/.exec(page.html)?.[1]
      path = next ? next.replaceAll('&amp;', '&') : null
    }
    expect(seen).toEqual(
      Array.from({ length: 60 }, (_, i) => `paged${String(i).padStart(2, '0')}@example.com`),
    )
  })

  it('counts what needs attention on the overview, each figure a link', async () => {
    const { t, operator, session } = await setUp()
    const held = await t.createUser()
    const leaving = await t.createUser()
    await postForm(t, session, `/console/accounts/${leaving.user.id}/schedule-deletion`)
    await postForm(t, session, `/console/accounts/${held.user.id}/legal-hold`, { reason: 'court order' })
    // The held account asks to be erased: recorded, blocked.
    expect((await t.request('DELETE', '/api/account', { token: held.apiKey })).status).toBe(409)
    const request = await t.json('POST', '/v1/admin/requests', {
      token: operator.session,
      body: { type: 'access', email: 'someone@example.net' },
    })
    expect(request.status).toBe(201)
    await t.exec(
      `INSERT INTO quota_refusals (usage_date, quota, refusals) VALUES (?, 'daily_creates', 3)`,
      new Date(t.clock.now()).toISOString().slice(0, 10),
    )
    const overview = (await consolePage(t, session, '/console')).html
    expect(figure(overview, 'accounts')).toBe(3)
    expect(figure(overview, 'scheduled for deletion')).toBe(1)
    expect(figure(overview, 'active')).toBe(2)
    expect(figure(overview, 'blocked by a legal hold')).toBe(1)
    expect(figure(overview, 'due in 7 days')).toBe(0)
    expect(figure(overview, 'overdue')).toBe(0)
    expect(figure(overview, 'quota refusals today')).toBe(3)
    expect(overview).toContain('href="/console/erasures?state=blocked_legal_hold"')
    const blocked = (await consolePage(t, session, '/console/erasures?state=blocked_legal_hold')).html
    expect(blocked).toContain('blocked_legal_hold')
    t.clock.advance(40 * 24 * 3600 * 1000)
    const later = (await consolePage(t, await signIn(t, operator.apiKey), '/console')).html
    // The access request, and the erasure requests the held account's DELETE and the schedule recorded.
    const open = await t.rows('SELECT id FROM data_requests WHERE closed_at IS NULL')
    expect(open.length).toBeGreaterThanOrEqual(2)
    expect(figure(later, 'overdue')).toBe(open.length)
    const overdue = (await consolePage(t, await signIn(t, operator.apiKey), '/console/requests?due=overdue'))
      .html
    expect(overdue).toContain(request.body.id.slice(0, 8))
  })
})

describe('console forms as an outsider sends them', () => {
  it('refuses bodies that are too large, not forms, or not UTF-8 — with a page, before any work', async () => {
    const { t, session } = await setUp()
    const user = await t.createUser()
    const post = (body: string | Uint8Array, type = 'application/x-www-form-urlencoded') =>
      t.request('POST', `/console/accounts/${user.user.id}/legal-hold`, {
        rawBody: body,
        headers: { cookie: session.cookie, 'content-type': type },
      })
    const prefix = `csrf=${encodeURIComponent(session.csrf)}&reason=`
    const big = await post(`${prefix}${'x'.repeat(20_000)}`)
    expect(big.status).toBe(413)
    const json = await post(JSON.stringify({ csrf: session.csrf, reason: 'x' }), 'application/json')
    expect(json.status).toBe(415)
    const invalid = await post(new Uint8Array([...new TextEncoder().encode(prefix), 0xff, 0xfe]))
    expect(invalid.status).toBe(400)
    expect(await invalid.text()).toContain('not valid UTF-8')
    // Percent-encoded nonsense decodes to replacement characters: a reason like any other.
    const odd = await post(`${prefix}%FF%00%1B[31m`)
    expect(odd.status).toBe(303)
    const chunked = await t.app.handle(
      new Request(`http://localhost/console/accounts/${user.user.id}/legal-hold/release`, {
        method: 'POST',
        headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(`csrf=${encodeURIComponent(session.csrf)}`))
            controller.close()
          },
        }),
      }),
    )
    expect(chunked.status).toBe(303)
    for (const response of [big, json, invalid])
      expect(response.headers.get('content-type')).toContain('text/html')
    expect(await t.rows('SELECT user_id FROM legal_holds WHERE released_at IS NULL')).toEqual([])
  })
})
