import { describe, expect, it } from 'bun:test'
import { Webhook } from 'standardwebhooks'
import { writeTransaction } from '../../db/store'
import { createUserWithTeam } from '../../src/services/accounts'
import { deliverAllDue, deliverDue, fanOut } from '../../src/services/webhook-delivery'
import { purgeOnce } from '../../src/workers/purge'
import { expectV1Error } from '../support/envelopes'
import { createTestApp } from '../support/harness'
import { registerEndpoint, webhookTestApp } from '../support/webhook-receiver'

const verify = (secret: string, r: { body: string; headers: Record<string, string> }) =>
  new Webhook(secret).verify(r.body, {
    'webhook-id': r.headers['webhook-id'] as string,
    'webhook-timestamp': r.headers['webhook-timestamp'] as string,
    'webhook-signature': r.headers['webhook-signature'] as string,
  })

describe('webhook endpoints', () => {
  it('registers an endpoint with a whsec_ secret shown once and sealed at rest', async () => {
    const { t, receiver } = webhookTestApp()
    const op = await t.createUser({ operator: true })
    const created = await registerEndpoint(t, op.session, {
      url: receiver.url,
      events: ['account.created'],
      description: 'crm',
    })
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(Buffer.from(created.secret.slice(6), 'base64')).toHaveLength(32)
    expect(created).toMatchObject({
      url: receiver.url,
      events: ['account.created'],
      status: 'enabled',
      processor: false,
    })
    const one = await t.json('GET', `/v1/admin/webhook-endpoints/${created.id}`, { token: op.session })
    expect(one.status).toBe(200)
    expect(one.body.secret).toBeUndefined()
    const list = await t.json('GET', '/v1/admin/webhook-endpoints', { token: op.session })
    expect(list.body.webhook_endpoints.map((e: any) => e.id)).toEqual([created.id])
    expect(JSON.stringify(list.body)).not.toContain(created.secret)
    const stored = await t.rows('SELECT * FROM webhook_endpoints')
    expect(JSON.stringify(stored)).not.toContain(created.secret.slice(6))
    expect(JSON.stringify(stored)).not.toContain(created.secret.slice(6, 30))
  })

  it('refuses non-operators (403) and unknown endpoints (404)', async () => {
    const { t, receiver } = webhookTestApp()
    const user = await t.createUser()
    const op = await t.createUser({ operator: true })
    const refused = await t.json('POST', '/v1/admin/webhook-endpoints', {
      token: user.session,
      body: { url: receiver.url, events: ['*'] },
    })
    expect(refused.status).toBe(403)
    const missing = await t.json('GET', '/v1/admin/webhook-endpoints/we_nope', { token: op.session })
    expect(missing.status).toBe(404)
    expectV1Error(missing.body, 'not_found', missing.headers)
    const badEvent = await t.json('POST', '/v1/admin/webhook-endpoints', {
      token: op.session,
      body: { url: receiver.url, events: ['account.exploded'] },
    })
    expect(badEvent.status).toBe(400)
  })

  it('refuses URLs that reach loopback, private, link-local or metadata addresses, and plain http', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const op = await t.createUser({ operator: true })
    for (const url of [
      'https://127.0.0.1/hooks',
      'https://localhost/hooks',
      'https://10.1.2.3/hooks',
      'https://192.168.0.10/hooks',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hooks',
      'https://[fd00:ec2::254]/hooks',
      'https://[::ffff:127.0.0.1]/hooks',
      'http://93.184.216.34/hooks',
      'ftp://93.184.216.34/hooks',
      'not a url',
    ]) {
      const r = await t.json('POST', '/v1/admin/webhook-endpoints', {
        token: op.session,
        body: { url, events: ['*'] },
      })
      expect(r.status, url).toBe(400)
      expectV1Error(r.body, 'invalid_fields', r.headers)
      expect(JSON.stringify(r.body), url).toContain('url')
    }
    const publicAddress = await t.json('POST', '/v1/admin/webhook-endpoints', {
      token: op.session,
      body: { url: 'https://93.184.216.34/hooks', events: ['*'] },
    })
    expect(publicAddress.status).toBe(201)
    // A PATCH to an internal address is refused the same way.
    const moved = await t.json('PATCH', `/v1/admin/webhook-endpoints/${publicAddress.body.id}`, {
      token: op.session,
      body: { url: 'https://127.0.0.1:9/x' },
    })
    expect(moved.status).toBe(400)
  })
})

describe('webhook delivery', () => {
  it('signs deliveries as Standard Webhooks says (checked by the standardwebhooks library) and sends no email', async () => {
    const { t, receiver } = webhookTestApp()
    const op = await t.createUser({ operator: true })
    const endpoint = await registerEndpoint(t, op.session, { url: receiver.url, events: ['account.created'] })
    const u = await t.createUser({ email: 'signed-person@example.com' })
    expect(await deliverAllDue(t.deps)).toBe(1)
    const [hit] = receiver.ofType('account.created')
    expect(hit).toBeDefined()
    const verified = verify(endpoint.secret, hit as any) as any
    expect(verified.data.user_id).toBe(u.user.id)
    expect(hit?.headers['webhook-id']).toBe(verified.id)
    expect(verified.id).toMatch(/^evt_[0-9a-f]{32}$/)
    expect(new Date(verified.created_at).toISOString()).toBe(verified.created_at)
    expect(hit?.body).not.toContain('signed-person')
    // A forged body fails the independent check.
    expect(() =>
      verify(endpoint.secret, { ...(hit as any), body: hit?.body.replace('user_id', 'user_ID') }),
    ).toThrow()
    // Delivered to every endpoint: the event is not kept.
    expect(await t.rows('SELECT id FROM webhook_events')).toHaveLength(0)
  })

  it('retries a failing receiver with the same webhook-id until it succeeds (3 attempts)', async () => {
    const { t, receiver } = webhookTestApp()
    const op = await t.createUser({ operator: true })
    const endpoint = await registerEndpoint(t, op.session, { url: receiver.url, events: ['account.created'] })
    receiver.answers.push(500, 503)
    await t.createUser()
    for (let attempt = 0; attempt < 3; attempt++) {
      expect(await deliverAllDue(t.deps)).toBe(1)
      // Not due again before its delay.
      expect(await deliverAllDue(t.deps)).toBe(0)
      t.clock.advance(1_200)
    }
    const hits = receiver.ofType('account.created')
    expect(hits).toHaveLength(3)
    expect(new Set(hits.map((h) => h.headers['webhook-id'])).size).toBe(1)
    for (const h of hits) verify(endpoint.secret, h)
    const deliveries = await t.json('GET', `/v1/admin/webhook-endpoints/${endpoint.id}/deliveries`, {
      token: op.session,
    })
    expect(deliveries.body.deliveries).toHaveLength(1)
    expect(deliveries.body.deliveries[0]).toMatchObject({
      status: 'succeeded',
      attempts: 3,
      last_status_code: 204,
    })
  })

  it('reports a failing receiver on /readyz without making the instance unready, and ok once it answers', async () => {
    const { t, receiver } = webhookTestApp()
    const readyz = async () => {
      const r = await t.json('GET', '/readyz')
      expect(r.status).toBe(200)
      return r.body.webhooks
    }
    expect(await readyz()).toBe('none')
    const op = await t.createUser({ operator: true })
    await registerEndpoint(t, op.session, { url: receiver.url, events: ['account.created'] })
    expect(await readyz()).toBe('ok')
    receiver.answers.push(503)
    await t.createUser()
    await deliverAllDue(t.deps)
    expect(await readyz()).toBe('failing')
    t.clock.advance(1_200)
    await deliverAllDue(t.deps)
    expect(await readyz()).toBe('ok')
  })

  it('fails a delivery after the schedule is spent, and an operator retry sends it again', async () => {
    const { t, receiver } = webhookTestApp()
    const op = await t.createUser({ operator: true })
    const endpoint = await registerEndpoint(t, op.session, { url: receiver.url, events: ['account.created'] })
    receiver.answers.push(500, 500, 500, 500, 500)
    await t.createUser()
    for (let attempt = 0; attempt < 6; attempt++) {
      await deliverAllDue(t.deps)
      t.clock.advance(1_200)
    }
    const page = await t.json('GET', `/v1/admin/webhook-endpoints/${endpoint.id}/deliveries`, {
      token: op.session,
    })
    const failed = page.body.deliveries[0]
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 5,
      last_status_code: 500,
      next_attempt_at: null,
    })
    expect(failed.last_error).toContain('500')
    const retried = await t.json('POST', `/v1/admin/webhook-endpoints/deliveries/${failed.id}/retry`, {
      token: op.session,
    })
    expect(retried.status).toBe(200)
    expect(retried.body.status).toBe('pending')
    expect(await deliverAllDue(t.deps)).toBe(1)
    const again = await t.json('POST', `/v1/admin/webhook-endpoints/deliveries/${failed.id}/retry`, {
      token: op.session,
    })
    expect(again.status).toBe(409)
    expect(receiver.ofType('account.created')).toHaveLength(6)
  })

  it("keeps finished deliveries, and a failed one's event, for 30 days, then removes them", async () => {
    const { t, receiver } = webhookTestApp({ WEBHOOK_RETRY_SECONDS: '1' })
    const op = await t.createUser({ operator: true })
    const endpoint = await registerEndpoint(t, op.session, { url: receiver.url, events: ['account.created'] })
    receiver.answers.push(500, 500)
    await t.createUser() // fails twice: failed, its event kept for a retry
    await deliverAllDue(t.deps)
    t.clock.advance(1_200)
    await deliverAllDue(t.deps)
    await t.createUser() // succeeds
    await deliverAllDue(t.deps)
    const statuses = async () =>
      (await t.rows<{ status: string }>('SELECT status FROM webhook_deliveries ORDER BY id')).map(
        (r) => r.status,
      )
    expect(await statuses()).toEqual(['failed', 'succeeded'])
    expect(await t.rows('SELECT id FROM webhook_events')).toHaveLength(1)
    t.clock.advance(29 * 24 * 3600 * 1000)
    expect((await purgeOnce(t.deps)).webhookDeliveriesReaped).toBe(0)
    t.clock.advance(2 * 24 * 3600 * 1000)
    expect((await purgeOnce(t.deps)).webhookDeliveriesReaped).toBe(2)
    expect(await statuses()).toEqual([])
    expect(await t.rows('SELECT id FROM webhook_events')).toHaveLength(0)
    const listed = await t.json('GET', `/v1/admin/webhook-endpoints/${endpoint.id}/deliveries`, {
      token: await t.session(op.user.id, op.user.email),
    })
    expect(listed.body.deliveries).toEqual([])
  })

  it("drops an endpoint's pending deliveries with it, and the events no other endpoint awaits", async () => {
    const { t, receiver } = webhookTestApp()
    const op = await t.createUser({ operator: true })
    const failing = await registerEndpoint(t, op.session, { url: receiver.url, events: ['account.created'] })
    receiver.answers.push(500, 500)
    await t.createUser()
    await deliverAllDue(t.deps)
    expect(await t.rows('SELECT id FROM webhook_events')).toHaveLength(1)
    const removed = await t.request('DELETE', `/v1/admin/webhook-endpoints/${failing.id}`, {
      token: op.session,
    })
    expect(removed.status).toBe(204)
    expect(await t.rows('SELECT id FROM webhook_deliveries')).toHaveLength(0)
    expect(await t.rows('SELECT id FROM webhook_events')).toHaveLength(0)
    expect(
      (await t.request('DELETE', `/v1/admin/webhook-endpoints/${failing.id}`, { token: op.session })).status,
    ).toBe(404)
    t.clock.advance(2_000)
    expect(await deliverAllDue(t.deps)).toBe(0)
  })

  it('announces nothing for a change that rolled back', async () => {
    const { t, receiver } = webhookTestApp()
    const op = await t.createUser({ operator: true })
    await registerEndpoint(t, op.session, { url: receiver.url, events: ['*'] })
    await expect(
      writeTransaction(t.store, async (tx) => {
        await createUserWithTeam(tx, t.clock, { email: 'rolled-back@example.com' })
        throw new Error('the change fails after its event was written')
      }),
    ).rejects.toThrow('the change fails')
    expect(await t.rows('SELECT id FROM webhook_events')).toHaveLength(0)
    expect(await t.rows('SELECT id FROM webhook_deliveries')).toHaveLength(0)
    expect(await deliverAllDue(t.deps)).toBe(0)
    expect(receiver.received).toHaveLength(0)
  })

  it("sends an account's events in order: a later one waits while an earlier one is retried", async () => {
    const { t, receiver } = webhookTestApp()
    const op = await t.createUser({ operator: true })
    await registerEndpoint(t, op.session, {
      url: receiver.url,
      events: ['account.created', 'api_key.created'],
    })
    receiver.answers.push(500)
    const u = await t.createUser()
    await t.runtimeKey(u)
    expect(await deliverAllDue(t.deps)).toBe(1) // account.created fails; api_key.created waits behind it
    expect(receiver.received.map((r) => r.json.type)).toEqual(['account.created'])
    t.clock.advance(1_200)
    await deliverAllDue(t.deps)
    await deliverAllDue(t.deps)
    const types = receiver.received.map((r) => r.json.type)
    expect(types.slice(0, 3)).toEqual(['account.created', 'account.created', 'api_key.created'])
    expect(types.lastIndexOf('account.created')).toBeLessThan(types.indexOf('api_key.created'))
  })

  it('delivers each event once when several workers race for the deliveries', async () => {
    const { t, receiver } = webhookTestApp()
    const op = await t.createUser({ operator: true })
    await registerEndpoint(t, op.session, { url: receiver.url, events: ['account.created'] })
    for (let i = 0; i < 30; i++) await t.createUser()
    const workers = Array.from({ length: 3 }, async () => {
      for (let pass = 0; pass < 10; pass++) await deliverDue(t.deps)
    })
    await Promise.all(workers)
    const ids = receiver.ofType('account.created').map((r) => r.headers['webhook-id'])
    expect(ids).toHaveLength(30)
    expect(new Set(ids).size).toBe(30)
  })

  it('sends again, with the same webhook-id, a delivery whose sender died holding its lease', async () => {
    const { t, receiver } = webhookTestApp()
    const op = await t.createUser({ operator: true })
    await registerEndpoint(t, op.session, { url: receiver.url, events: ['account.created'] })
    await t.createUser()
    // What a sender killed mid-send leaves: the delivery claimed (its lease running), never recorded.
    await fanOut(t.deps)
    await t.exec('UPDATE webhook_deliveries SET locked_until = ?', t.clock.now() + 40_000)
    const { id: eventId } = (await t.row<{ id: string }>('SELECT id FROM webhook_events')) as { id: string }
    expect(await deliverAllDue(t.deps)).toBe(0)
    t.clock.advance(40_001)
    expect(await deliverAllDue(t.deps)).toBe(1)
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([eventId])
  })

  it('signs with both secrets for 24 hours after a rotation, then with the new one only', async () => {
    const { t, receiver } = webhookTestApp()
    const op = await t.createUser({ operator: true })
    const endpoint = await registerEndpoint(t, op.session, { url: receiver.url, events: ['account.created'] })
    const rotated = await t.json('POST', `/v1/admin/webhook-endpoints/${endpoint.id}/rotate-secret`, {
      token: op.session,
    })
    expect(rotated.status).toBe(200)
    expect(rotated.body.secret).not.toBe(endpoint.secret)
    await t.createUser()
    await deliverAllDue(t.deps)
    const [during] = receiver.received
    expect(during?.headers['webhook-signature']?.split(' ')).toHaveLength(2)
    verify(endpoint.secret, during as any)
    verify(rotated.body.secret, during as any)
    t.clock.advance(24 * 3600 * 1000 + 1)
    await t.createUser()
    await deliverAllDue(t.deps)
    const after = receiver.received[1] as any
    expect(after.headers['webhook-signature'].split(' ')).toHaveLength(1)
    expect(() =>
      verify(endpoint.secret, {
        ...after,
        headers: { ...after.headers, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) },
      }),
    ).toThrow()
  })

  it('disables an endpoint failing for 3 days and says so to the others', async () => {
    const { t, receiver } = webhookTestApp({ WEBHOOK_RETRY_SECONDS: '86400,86400,86400,86400,86400' })
    const op = await t.createUser({ operator: true })
    const dead = await registerEndpoint(t, op.session, {
      url: 'http://127.0.0.1:9/unreachable',
      events: ['account.created'],
    })
    await registerEndpoint(t, op.session, { url: receiver.url, events: ['webhook_endpoint.disabled'] })
    await t.createUser()
    for (let day = 0; day <= 3; day++) {
      await deliverAllDue(t.deps)
      t.clock.advance(86_400_000 * 1.2)
    }
    const state = await t.json('GET', `/v1/admin/webhook-endpoints/${dead.id}`, {
      token: await t.session(op.user.id, op.user.email),
    })
    expect(state.body.status).toBe('disabled')
    expect(state.body.disabled_reason).toContain('3 days')
    await deliverAllDue(t.deps)
    const [notice] = receiver.ofType('webhook_endpoint.disabled')
    expect(notice?.json.data.endpoint_id).toBe(dead.id)
  })
})
