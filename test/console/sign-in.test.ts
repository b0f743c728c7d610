import { describe, expect, it } from 'bun:test'
import { HOUR } from '../../src/lib/clock'
import { sha256Hex } from '../../src/lib/crypto'
import { hashUserId } from '../../src/lib/pseudonym'
import { purgeOnce } from '../../src/workers/purge'
import { consolePage, postForm, postSignIn, signIn } from '../support/console'
import { createTestApp } from '../support/harness'

describe('console sign-in', () => {
  it('sends a browser without a session to the sign-in form, keeping where it was going', async () => {
    const t = createTestApp()
    const response = await t.request('GET', '/console/accounts?q=x')
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe('/console/sign-in?next=%2Fconsole%2Faccounts%3Fq%3Dx')
  })

  it("exchanges an operator's API key for a 12-hour HttpOnly, SameSite=Strict cookie holding no credential of the API", async () => {
    const t = createTestApp()
    const operator = await t.createUser({ operator: true })
    const response = await postSignIn(t, operator.apiKey, '/console/quotas')
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe('/console/quotas')
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('custodian_console=')) as string
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('SameSite=Strict')
    expect(cookie).toContain('Path=/console')
    expect(cookie).toContain(`Max-Age=${12 * 3600}`)
    expect(cookie).not.toContain('Secure')
    const token = cookie.split(';')[0]?.split('=')[1] as string
    expect(token).not.toContain(operator.apiKey)
    // Only the token's hash is kept.
    const rows = await t.rows('SELECT id, user_id FROM console_sessions')
    expect(rows).toEqual([{ id: sha256Hex(token), user_id: operator.user.id }])
  })

  it('marks the cookie Secure when PUBLIC_URL is https', async () => {
    const t = createTestApp({ env: { PUBLIC_URL: 'https://custodian.example' } })
    const operator = await t.createUser({ operator: true })
    const response = await postSignIn(t, operator.session)
    expect(response.status).toBe(303)
    expect(response.headers.getSetCookie().find((c) => c.startsWith('custodian_console='))).toContain(
      '; Secure',
    )
  })

  it("refuses a non-operator's credential with 403 and a wrong one with 401, opening no session", async () => {
    const t = createTestApp()
    const user = await t.createUser()
    const refused = await postSignIn(t, user.session)
    expect(refused.status).toBe(403)
    expect(await refused.text()).toContain('The console is for operators.')
    const wrong = await postSignIn(t, 'ok_not-a-key')
    expect(wrong.status).toBe(401)
    for (const response of [refused, wrong])
      expect(response.headers.getSetCookie().some((c) => c.startsWith('custodian_console='))).toBe(false)
    expect(await t.rows('SELECT id FROM console_sessions')).toEqual([])
  })

  it('refuses a sign-in form that was not loaded by this browser (login CSRF)', async () => {
    const t = createTestApp()
    const operator = await t.createUser({ operator: true })
    const response = await t.request('POST', '/console/sign-in', {
      rawBody: new URLSearchParams({ token: operator.apiKey, csrf: 'forged' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(response.status).toBe(403)
    expect(response.headers.get('content-type')).toContain('text/html')
    expect(await t.rows('SELECT id FROM console_sessions')).toEqual([])
  })

  it('goes only to console paths after signing in', async () => {
    const t = createTestApp()
    const operator = await t.createUser({ operator: true })
    for (const next of ['//evil.example/console', 'https://evil.example', '/api/account'])
      expect((await postSignIn(t, operator.apiKey, next)).headers.get('location')).toBe('/console')
  })

  it('ends the session at sign-out, after 12 hours, and the moment the account stops being an operator', async () => {
    const t = createTestApp()
    const operator = await t.createUser({ operator: true })
    const first = await signIn(t, operator.apiKey)
    const out = await postForm(t, first, '/console/sign-out')
    expect(out.status).toBe(303)
    expect((await consolePage(t, first, '/console')).status).toBe(303)

    const second = await signIn(t, operator.apiKey)
    t.clock.advance(12 * HOUR - 1)
    expect((await consolePage(t, second, '/console')).status).toBe(200)
    t.clock.advance(1)
    expect((await consolePage(t, second, '/console')).status).toBe(303)
    // The worker removes what has expired; the signed-out session is gone already.
    expect((await purgeOnce(t.deps)).consoleSessionsExpired).toBe(1)
    expect(await t.rows('SELECT id FROM console_sessions')).toEqual([])

    const third = await signIn(t, await t.session(operator.user.id, operator.user.email))
    await t.exec('UPDATE users SET is_operator = FALSE WHERE id = ?', operator.user.id)
    expect((await consolePage(t, third, '/console')).status).toBe(303)
  })

  it("ends the session the moment the operator's account is erased, and erases its sessions", async () => {
    const t = createTestApp()
    const operator = await t.createUser({ operator: true })
    const session = await signIn(t, operator.apiKey)
    expect((await t.request('DELETE', '/api/account', { token: operator.apiKey })).status).toBe(204)
    expect((await consolePage(t, session, '/console')).status).toBe(303)
    expect(await t.rows('SELECT id FROM console_sessions')).toEqual([])
  })

  it('audits signing in and out under the operator pseudonym, never the id', async () => {
    const t = createTestApp()
    const operator = await t.createUser({ operator: true })
    const session = await signIn(t, operator.apiKey)
    await postForm(t, session, '/console/sign-out')
    const audit = await t.rows<{ action: string; details: string }>(
      "SELECT action, details FROM audit_events WHERE action LIKE 'console.%' ORDER BY id",
    )
    expect(audit.map((a) => a.action)).toEqual(['console.signed_in', 'console.signed_out'])
    for (const row of audit) {
      expect(JSON.parse(row.details).operator).toBe(hashUserId(operator.user.id))
      expect(row.details).not.toContain(operator.user.id)
    }
  })
})
