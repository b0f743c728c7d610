import { describe, expect, it } from 'bun:test'
import { hashUserId } from '../../src/lib/pseudonym'
import { checkCertificate } from '../../src/services/certificate-format'
import { consolePage, postForm, signIn } from '../support/console'
import { createTestApp, type TestApp } from '../support/harness'
import { registerEndpoint, webhookTestApp } from '../support/webhook-receiver'

async function setUp(t: TestApp = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })) {
  const operator = await t.createUser({ operator: true })
  const user = await t.createUser({ email: 'holder@example.com' })
  return { t, operator, user, session: await signIn(t, operator.apiKey) }
}

describe('console actions', () => {
  it('refuses every form without the session’s CSRF token (403) or without a session (401), doing nothing', async () => {
    const { t, operator, user, session } = await setUp()
    const other = await signIn(t, operator.session)
    const path = `/console/accounts/${user.user.id}/legal-hold`
    const fields = { reason: 'litigation 2026-17' }
    expect((await postForm(t, session, path, fields, { csrf: null })).status).toBe(403)
    expect((await postForm(t, session, path, fields, { csrf: other.csrf })).status).toBe(403)
    expect((await postForm(t, session, path, fields, { csrf: 'x'.repeat(43) })).status).toBe(403)
    const anonymous = await postForm(t, null, path, fields, { csrf: session.csrf })
    expect(anonymous.status).toBe(401)
    expect(anonymous.html).toContain('sign in again')
    expect(await t.rows('SELECT user_id FROM legal_holds')).toEqual([])
    // The same form with its token works.
    expect((await postForm(t, session, path, fields)).status).toBe(303)
    expect(await t.rows('SELECT user_id FROM legal_holds WHERE released_at IS NULL')).toEqual([
      { user_id: user.user.id },
    ])
  })

  it('shows a dry run before erasing, refuses a wrong confirmation, then erases with a receipt and a valid certificate', async () => {
    const { t, user, session } = await setUp()
    const preview = await consolePage(t, session, `/console/accounts/${user.user.id}/erase`)
    expect(preview.status).toBe(200)
    expect(preview.html).toContain('Dry run: nothing has been erased yet')
    expect(preview.html).toMatch(/<code>api_keys<\/code><\/td><td>1<\/td>/)
    const wrong = await postForm(t, session, `/console/accounts/${user.user.id}/erase`, {
      confirm: 'holder@example.org',
    })
    expect(wrong.status).toBe(400)
    expect(wrong.html).toContain('does not match')
    expect(await t.row('SELECT id FROM users WHERE id = ?', user.user.id)).toBeDefined()

    const erased = await postForm(t, session, `/console/accounts/${user.user.id}/erase`, {
      confirm: ' Holder@Example.com ',
    })
    expect(erased.status).toBe(303)
    const receiptPath = (erased.location as string).split('?')[0] as string
    expect(receiptPath).toMatch(/^\/console\/erasures\/[\w-]+$/)
    expect(await t.row('SELECT id FROM users WHERE id = ?', user.user.id)).toBeUndefined()
    const receipt = await consolePage(t, session, receiptPath)
    expect(receipt.html).toContain('>done<')
    expect(receipt.html).toContain('Number 1 of the chain')
    expect(receipt.html).not.toContain(user.user.email)
    const download = await t.request('GET', `${receiptPath}/certificate`, {
      headers: { cookie: session.cookie },
    })
    expect(download.headers.get('content-disposition')).toContain('attachment')
    expect((await checkCertificate(await download.text())).ok).toBe(true)
    const verified = await consolePage(t, session, `${receiptPath}?verify=1`)
    expect(verified.html).toContain('Valid: ')
    // The audit names the erasure, not the account.
    const audit = await t.row<{ details: string }>(
      "SELECT details FROM audit_events WHERE action = 'console.erased'",
    )
    expect(JSON.parse(audit?.details as string)).toMatchObject({
      target_type: 'erasure',
      target_id: receiptPath.split('/').at(-1),
    })
  })

  it('refuses to erase a held account (409) and erases nothing', async () => {
    const { t, user, session } = await setUp()
    await postForm(t, session, `/console/accounts/${user.user.id}/legal-hold`, {
      reason: 'audit',
      confidential: 'true',
    })
    const page = await consolePage(t, session, `/console/accounts/${user.user.id}`)
    expect(page.html).toContain('Held since')
    const refused = await postForm(t, session, `/console/accounts/${user.user.id}/erase`, {
      confirm: user.user.email,
    })
    expect(refused.status).toBe(409)
    expect(await t.row('SELECT id FROM users WHERE id = ?', user.user.id)).toBeDefined()
    expect((await postForm(t, session, `/console/accounts/${user.user.id}/legal-hold/release`)).status).toBe(
      303,
    )
    expect(await t.rows('SELECT user_id FROM legal_holds WHERE released_at IS NULL')).toEqual([])
    expect((await postForm(t, session, `/console/accounts/${user.user.id}/legal-hold/release`)).status).toBe(
      404,
    )
  })

  it('sets the quota tier, revokes a key at once, queues an export and schedules then cancels deletion, auditing each', async () => {
    const { t, operator, user, session } = await setUp()
    const base = `/console/accounts/${user.user.id}`
    expect((await postForm(t, session, `${base}/tier`, { tier: 'pro' })).status).toBe(303)
    expect(await t.row('SELECT quota_tier_id FROM users WHERE id = ?', user.user.id)).toEqual({
      quota_tier_id: 'pro',
    })
    expect((await postForm(t, session, `${base}/tier`, { tier: 'nonexistent' })).status).toBe(400)

    const key = await t.row<{ id: string }>('SELECT id FROM api_keys WHERE user_id = ?', user.user.id)
    expect((await t.request('GET', '/api/account', { token: user.apiKey })).status).toBe(200)
    expect((await postForm(t, session, `${base}/keys/${key?.id}/revoke`)).status).toBe(303)
    expect((await t.request('GET', '/api/account', { token: user.apiKey })).status).toBe(401)

    expect((await postForm(t, session, `${base}/exports`, { format: 'csv' })).status).toBe(303)
    expect(
      await t.row('SELECT format, requested_by FROM export_archives WHERE user_id = ?', user.user.id),
    ).toEqual({
      format: 'csv',
      requested_by: 'operator',
    })

    expect((await postForm(t, session, `${base}/schedule-deletion`)).status).toBe(303)
    expect(
      (await t.row('SELECT delete_scheduled_at FROM users WHERE id = ?', user.user.id))?.delete_scheduled_at,
    ).not.toBeNull()
    expect((await postForm(t, session, `${base}/schedule-deletion`)).status).toBe(409)
    expect((await postForm(t, session, `${base}/cancel-deletion`)).status).toBe(303)
    expect(
      (await t.row('SELECT delete_scheduled_at FROM users WHERE id = ?', user.user.id))?.delete_scheduled_at,
    ).toBeNull()

    const audit = await t.rows<{ action: string; user_hash: string; details: string }>(
      "SELECT action, user_hash, details FROM audit_events WHERE action LIKE 'console.%' AND action != 'console.signed_in' ORDER BY id",
    )
    expect(audit.map((a) => a.action)).toEqual([
      'console.quota_tier_set',
      'console.key_revoked',
      'console.export_requested',
      'console.deletion_scheduled',
      'console.deletion_canceled',
    ])
    for (const row of audit) {
      expect(row.user_hash).toBe(hashUserId(user.user.id))
      expect(JSON.parse(row.details).operator).toBe(hashUserId(operator.user.id))
      expect(row.details).not.toContain(operator.user.id)
    }
  })

  it('moves a data-subject request and refuses to move a closed one', async () => {
    const { t, operator, user, session } = await setUp()
    const created = await t.json('POST', '/v1/admin/requests', {
      token: operator.session,
      body: { type: 'access', user_id: user.user.id },
    })
    const id = created.body.id as string
    expect((await postForm(t, session, `/console/requests/${id}/start`)).status).toBe(303)
    expect(await t.row('SELECT status FROM data_requests WHERE id = ?', id)).toEqual({
      status: 'in_progress',
    })
    const noReason = await postForm(t, session, `/console/requests/${id}/refuse`, { reason: '' })
    expect(noReason.status).toBe(400)
    expect((await postForm(t, session, `/console/requests/${id}/withdraw`)).status).toBe(303)
    const closed = await postForm(t, session, `/console/requests/${id}/start`)
    expect(closed.status).toBe(409)
    expect(closed.html).toContain('a closed case does not move again')
    expect((await postForm(t, session, `/console/requests/${id}/teleport`)).status).toBe(404)
    const page = await consolePage(t, session, `/console/requests/${id}`)
    expect(page.html).toContain('A closed case does not move again.')
  })

  it('retries a failed delivery, rotates a secret shown once, and announces both as operator.action', async () => {
    const { t, receiver } = webhookTestApp()
    const { operator, session } = await setUp(t)
    const endpoint = await registerEndpoint(t, operator.session, {
      url: receiver.url,
      events: ['operator.action'],
    })
    const now = t.clock.now()
    await t.exec(
      `INSERT INTO webhook_deliveries (id, event_id, event_type, endpoint_id, ordering_key, status, attempts, next_attempt_at, last_status_code, created_at, updated_at)
       VALUES ('whd_failed', 'evt_x', 'account.created', ?, 'k', 'failed', 8, ?, 500, ?, ?)`,
      endpoint.id,
      now,
      now,
      now,
    )
    const listing = await consolePage(t, session, `/console/webhooks/${endpoint.id}`)
    expect(listing.html).toContain('Retry whd_failed')
    expect((await postForm(t, session, '/console/deliveries/whd_failed/retry')).status).toBe(303)
    expect(await t.row("SELECT status, attempts FROM webhook_deliveries WHERE id = 'whd_failed'")).toEqual({
      status: 'pending',
      attempts: 0,
    })
    const rotated = await postForm(t, session, `/console/webhooks/${endpoint.id}/rotate-secret`)
    expect(rotated.status).toBe(200)
    const secret = /<code>(whsec_[^<]+)<\/code>/.exec(rotated.html)?.[1] as string
    expect(secret).toBeDefined()
    expect(secret).not.toBe(endpoint.secret)
    expect((await consolePage(t, session, `/console/webhooks/${endpoint.id}`)).html).not.toContain(secret)
    const events = await t.rows<{ data: string }>(
      "SELECT data FROM webhook_events WHERE type = 'operator.action' ORDER BY id",
    )
    expect(events.map((e) => JSON.parse(e.data).action)).toEqual(['delivery_retried', 'secret_rotated'])
    for (const event of events) {
      expect(JSON.parse(event.data).operator).toBe(hashUserId(operator.user.id))
      expect(event.data).not.toContain(operator.user.id)
    }
  })
})
