import { expect, it } from 'bun:test'
import { Webhook } from 'standardwebhooks'
import { cli, cliDeployment } from '../support/cli'
import { describeSqlite } from '../support/test-database'
import { startReceiver } from '../support/webhook-receiver'

describeSqlite('custodian webhooks', () => {
  it('registers an endpoint, lists it, and `purge` delivers what is due, signed with the secret it printed', async () => {
    cliDeployment({ WEBHOOKS_ALLOW_HTTP: 'true', WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true' })
    const receiver = startReceiver()
    const created = await cli([
      'webhooks',
      'create',
      '--url',
      receiver.url,
      '--events',
      'account.created',
      '--json',
    ])
    expect(created.code).toBe(0)
    const endpoint = JSON.parse(created.output) as { id: string; secret: string }
    expect(endpoint.secret).toMatch(/^whsec_/)
    expect((await cli(['webhooks', 'list'])).output).toContain(endpoint.id)
    expect((await cli(['webhooks', 'create', '--url', receiver.url, '--events', 'account.nope'])).code).toBe(
      1,
    )

    expect((await cli(['user', 'create', '--email', 'hooked@example.com', '--json'])).code).toBe(0)
    expect((await cli(['purge'])).code).toBe(0)
    expect(receiver.ofType('account.created')).toHaveLength(1)
    const [hit] = receiver.received
    new Webhook(endpoint.secret).verify(hit?.body as string, hit?.headers as Record<string, string>)
    const deliveries = JSON.parse(
      (await cli(['webhooks', 'deliveries', '--id', endpoint.id, '--json'])).output,
    )
    expect(deliveries.deliveries[0]).toMatchObject({ status: 'succeeded', attempts: 1 })
    expect((await cli(['webhooks', 'retry', '--id', deliveries.deliveries[0].id])).code).toBe(1) // already succeeded
    expect((await cli(['webhooks', 'retry', '--id', 'whd_nope'])).code).toBe(1)
  })
})
