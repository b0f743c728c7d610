import { describe, expect, it, setSystemTime } from 'bun:test'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { Webhook } from 'standardwebhooks'
import { DAY } from '../../src/lib/clock'
import { deliverAllDue } from '../../src/services/webhook-delivery'
import { purgeOnce } from '../../src/workers/purge'
import { scanForStrings } from '../support/byte-scan'
import { fileBackedApp } from '../support/file-backed-app'
import { createTestApp, type TestApp, type TestUser } from '../support/harness'
import { buildRichAccount } from '../support/rich-account'
import { describeSqlite, sqliteOf } from '../support/test-database'
import {
  registerEndpoint,
  startReceiver,
  WEBHOOK_TEST_ENV,
  webhookTestApp,
} from '../support/webhook-receiver'

type Erase = (t: TestApp, u: TestUser, operator: TestUser) => Promise<void>

/** The three ways an account is erased (each asks the processors). */
const ERASURE_PATHS: Record<string, Erase> = {
  'DELETE /api/account': async (t, u) => {
    expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
  },
  'DELETE /v1/account/me, then the purge after the grace period': async (t, u) => {
    expect((await t.request('DELETE', '/v1/account/me', { token: u.session })).status).toBe(202)
    t.clock.advance(31 * DAY)
    expect((await purgeOnce(t.deps)).hardDeleted).toBe(1)
  },
  'DELETE /v1/admin/users/{id}': async (t, u, operator) => {
    expect((await t.request('DELETE', '/v1/account/me', { token: u.session })).status).toBe(202)
    const r = await t.request('DELETE', `/v1/admin/users/${u.user.id}`, {
      token: await operatorSession(t, operator),
    })
    expect(r.status).toBe(200)
  },
}

const operatorSession = (t: TestApp, op: TestUser) => t.session(op.user.id, op.user.email)

async function receiptOf(t: TestApp, op: TestUser) {
  const r = await t.json('GET', '/v1/admin/deletions', { token: await operatorSession(t, op) })
  expect(r.status).toBe(200)
  return r.body.deletions[0]
}

describe('erasure reaches the processors', () => {
  for (const [name, erase] of Object.entries(ERASURE_PATHS))
    it(`after ${name}: the receipt goes pending → delivered → acknowledged`, async () => {
      const { t, receiver } = webhookTestApp()
      const op = await t.createUser({ operator: true })
      // A processor that subscribed to nothing else still receives the erasure request.
      const endpoint = await registerEndpoint(t, op.session, {
        url: receiver.url,
        events: ['account.erased'],
        processor: true,
      })
      const u = await t.createUser({ email: 'leaving-person@example.com' })

      await erase(t, u, op)
      const pending = await receiptOf(t, op)
      expect(pending.step).toBe('done')
      expect(pending.processors).toEqual([
        expect.objectContaining({ endpoint_id: endpoint.id, status: 'pending', acknowledged_at: null }),
      ])

      await deliverAllDue(t.deps)
      const requested = receiver.ofType('account.erasure_requested')
      expect(requested).toHaveLength(1)
      const hit = requested[0] as (typeof requested)[number]
      // The library checks the timestamp against its own clock: the test's, which may be days ahead.
      setSystemTime(new Date(t.clock.now()))
      try {
        new Webhook(endpoint.secret).verify(hit.body, hit.headers as Record<string, string>)
      } finally {
        setSystemTime()
      }
      expect(hit.json.data).toMatchObject({ user_id: u.user.id, erasure_id: pending.id })
      expect(receiver.ofType('account.erased').map((r) => r.json.data.user_id)).toEqual([u.user.id])
      for (const r of receiver.received) expect(r.body).not.toContain('leaving-person')
      expect((await receiptOf(t, op)).processors[0]).toMatchObject({ status: 'delivered' })

      // The link works without a credential, once in effect: a repeat changes nothing.
      const link = new URL(hit.json.data.acknowledge_url)
      expect(link.pathname).toMatch(/^\/v1\/erasure-acknowledgements\/ack_/)
      const ack = await t.json('POST', link.pathname)
      expect(ack.status).toBe(200)
      expect(ack.body).toMatchObject({ endpoint_id: endpoint.id, status: 'acknowledged' })
      t.clock.advance(1000)
      const again = await t.json('POST', link.pathname, {
        headers: { 'content-type': 'text/plain' },
        rawBody: 'done',
      })
      expect(again.body.acknowledged_at).toBe(ack.body.acknowledged_at)
      expect((await receiptOf(t, op)).processors[0]).toMatchObject({ status: 'acknowledged' })
    })

  it('sends account.erased as a signed RISC account-purged token to a format "set" endpoint', async () => {
    const { t, receiver } = webhookTestApp()
    const op = await t.createUser({ operator: true })
    for (const body of [
      { url: receiver.url, events: ['*'], format: 'set' },
      { url: receiver.url, events: ['account.erased'], format: 'set', processor: true },
    ]) {
      const refused = await t.json('POST', '/v1/admin/webhook-endpoints', { token: op.session, body })
      expect(refused.status).toBe(400)
    }
    const endpoint = await registerEndpoint(t, op.session, {
      url: receiver.url,
      events: ['account.erased'],
      format: 'set',
    })
    expect((endpoint as any).format).toBe('set')
    const u = await t.createUser({ email: 'purged-person@example.com' })
    await ERASURE_PATHS['DELETE /api/account']?.(t, u, op)
    await deliverAllDue(t.deps)
    expect(receiver.received).toHaveLength(1)
    const [hit] = receiver.received
    expect(hit?.headers['content-type']).toBe('application/secevent+jwt')
    const jwks = await t.json('GET', '/.well-known/custodian/security-event-keys')
    expect(jwks.status).toBe(200)
    const { payload, protectedHeader } = await jwtVerify(hit?.body as string, createLocalJWKSet(jwks.body), {
      issuer: 'http://custodian.test',
      audience: receiver.url,
      typ: 'secevent+jwt',
    })
    expect(protectedHeader.alg).toBe('EdDSA')
    expect(payload.sub_id).toEqual({ format: 'opaque', id: u.user.id })
    expect(Object.keys(payload.events as object)).toEqual([
      'https://schemas.openid.net/secevent/risc/event-type/account-purged',
    ])
    expect(payload.jti).toBe(hit?.headers['webhook-id'] as string)
    expect(JSON.stringify(payload)).not.toContain('purged-person')
  })

  it('answers 404 for a link it did not issue', async () => {
    const t = createTestApp({ env: WEBHOOK_TEST_ENV })
    for (const token of ['ack_nope', `ack_${'A'.repeat(43)}`, 'x']) {
      const r = await t.json('POST', `/v1/erasure-acknowledgements/${token}`)
      expect(r.status).toBe(404)
    }
  })

  it('reports a processor that has not acknowledged within the deadline, once, as an event and a metric', async () => {
    const { t, receiver: processor } = webhookTestApp()
    const watcher = startReceiver()
    const op = await t.createUser({ operator: true })
    const p = await registerEndpoint(t, op.session, {
      url: processor.url,
      events: ['account.erased'],
      processor: true,
    })
    await registerEndpoint(t, op.session, { url: watcher.url, events: ['account.erasure_overdue'] })
    const u = await t.createUser()
    await ERASURE_PATHS['DELETE /api/account']?.(t, u, op)
    await deliverAllDue(t.deps)
    t.clock.advance(29 * DAY)
    expect((await purgeOnce(t.deps)).overdueAcknowledgements).toBe(0)
    t.clock.advance(2 * DAY)
    expect((await purgeOnce(t.deps)).overdueAcknowledgements).toBe(1)
    expect((await purgeOnce(t.deps)).overdueAcknowledgements).toBe(1)
    await deliverAllDue(t.deps)
    const overdue = watcher.ofType('account.erasure_overdue')
    expect(overdue).toHaveLength(1)
    expect(overdue[0]?.json.data).toMatchObject({ endpoint_id: p.id })
    const metrics = await (await t.request('GET', '/metrics')).text()
    expect(metrics).toContain('custodian_erasure_acknowledgements_overdue 1')
  })
})

describeSqlite('webhooks keep no trace of an erased account', () => {
  it('once its events are delivered: 0 hits in the database file and WAL; receivers got ids only', async () => {
    const receiver = startReceiver()
    const { t, databasePath, storageDir, logs } = fileBackedApp({ env: WEBHOOK_TEST_ENV })
    t.clock.set(Date.now())
    const op = await t.createUser({ operator: true })
    await registerEndpoint(t, op.session, { url: receiver.url, events: ['*'], processor: true })
    const victim = await buildRichAccount(t, 'gone')
    const r = await t.request('DELETE', '/api/account', { token: victim.u.apiKey })
    expect(r.status).toBe(204)
    await deliverAllDue(t.deps)
    expect(receiver.ofType('account.erasure_requested')).toHaveLength(1)
    const { userId, ...personal } = victim.strings
    // What receivers got: the user id (what they match on), nothing personal.
    const sent = receiver.received.map((x) => x.body).join('\n')
    expect(sent).toContain(userId as string)
    for (const [label, value] of Object.entries(personal)) expect(sent.includes(value), label).toBe(false)
    sqliteOf(t.store).sqlite.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    expect(scanForStrings({ databasePath, storageDir, logs: logs() }, victim.strings)).toEqual({})
  })
})
