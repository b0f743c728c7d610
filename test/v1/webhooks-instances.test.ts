import { describe, expect, it } from 'bun:test'
import { deliverDue } from '../../src/services/webhook-delivery'
import { closeAll, instances } from '../support/pg-instances'
import { onPostgres } from '../support/test-database'
import { registerEndpoint, webhookTestApp } from '../support/webhook-receiver'

// Several instances share one database only on PostgreSQL; on SQLite the racing workers of
// test/v1/webhooks.test.ts stand for them.
const describePostgres = onPostgres ? describe : describe.skip
describePostgres(
  `webhooks with three instances${onPostgres ? '' : ' [PostgreSQL only: SQLite serves one instance]'}`,
  () => {
    it('delivers each event once while every instance runs its delivery worker', async () => {
      const { t, receiver } = webhookTestApp()
      const op = await t.createUser({ operator: true })
      await registerEndpoint(t, op.session, {
        url: receiver.url,
        events: ['account.created', 'api_key.created'],
      })
      const all = await instances(t, 3)
      try {
        let creating = true
        // Workers on every instance race while the events are still being written.
        const workers = all.map(async (instance) => {
          while (creating || (await deliverDue(instance.deps)) > 0) await deliverDue(instance.deps)
        })
        const users = []
        for (let i = 0; i < 40; i++) {
          const u = await t.createUser()
          users.push(u)
          await t.runtimeKey(u)
        }
        creating = false
        await Promise.all(workers)
        const ids = receiver.received.map((r) => r.headers['webhook-id'])
        const events = await t.rows('SELECT count(*) AS n FROM webhook_deliveries')
        expect(ids.length).toBe(Number(events[0]?.n))
        expect(new Set(ids).size).toBe(ids.length)
        // Each account's events arrived in order: its account.created before its key's.
        for (const u of users) {
          const types = receiver.received
            .filter((r) => r.json.data.user_id === u.user.id)
            .map((r) => r.json.type)
          expect(types[0]).toBe('account.created')
          expect(types.slice(1).every((type) => type === 'api_key.created')).toBe(true)
        }
      } finally {
        closeAll(all)
      }
    })
  },
)
