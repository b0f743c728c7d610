import { describe, expect, it } from 'bun:test'
import { treaty } from '@elysiajs/eden'
import type { App } from '../../src/app'
import { createTestApp } from '../support/harness'

describe('Eden Treaty over the exported App type', () => {
  it('calls both dialects with types inferred from the routes', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const u = await t.createUser()
    // treaty(app) calls the instance in-process; treaty<App>('host:port') does the same over HTTP.
    const api = treaty<App>(t.app as App, { headers: { authorization: `Bearer ${u.apiKey}` } })
    const created = await api.api.apps.post({ appName: 'Eden App' })
    expect(created.status).toBe(201)
    expect(created.data?.slug).toBe('eden-app')
    const status = await api.api.status.get()
    if (status.error) throw new Error(`status ${status.error.status}`)
    expect(status.data.appCount).toBe(1)
    const v1 = treaty<App>(t.app as App, { headers: { authorization: `Bearer ${u.session}` } })
    const me = await v1.v1.account.me.get()
    if (me.error) throw new Error(`status ${me.error.status}`)
    expect(me.data.user.email).toBe(u.user.email)
  })
})
