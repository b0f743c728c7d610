import { describe, expect, it } from 'bun:test'
import { DAY } from '../../src/lib/clock'
import { purgeOnce } from '../../src/workers/purge'
import { scanForStrings } from '../support/byte-scan'
import { fileBackedApp } from '../support/file-backed-app'
import type { TestApp } from '../support/harness'
import { pngBytes } from '../support/images'
import { receiptsOf } from '../support/receipts'
import { buildRichAccount, type RichAccount } from '../support/rich-account'

/** 50 writes of the account's app: icons, well-known files, page saves and deploys, spread over ~15 ms. */
async function fireWrites(t: TestApp, victim: RichAccount, png: Uint8Array): Promise<number[]> {
  const headers = { authorization: `Bearer ${victim.u.apiKey}` }
  const base = `http://localhost/api/apps/${victim.appId}`
  const writes = Array.from({ length: 50 }, async (_, i) => {
    await Bun.sleep(i % 16)
    let request: Request
    switch (i % 4) {
      case 0:
        request = new Request(`${base}/site/icon`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'image/png' },
          body: png,
        })
        break
      case 1:
        request = new Request(`${base}/well-known/apple-developer-domain-association.txt`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'text/plain' },
          body: `${victim.strings.wellKnown}-${i}`,
        })
        break
      case 2:
        request = new Request(`${base}/support-page`, {
          method: 'PUT',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ contactEmail: victim.strings.supportEmail, faqItems: [] }),
        })
        break
      default:
        request = new Request(`${base}/deploy`, { method: 'POST', headers })
    }
    return (await t.app.handle(request)).status
  })
  return Promise.all(writes)
}

const ERASE: Record<string, (t: TestApp, victim: RichAccount) => Promise<void>> = {
  'DELETE /api/account': async (t, victim) => {
    await Bun.sleep(5)
    expect((await t.request('DELETE', '/api/account', { token: victim.u.apiKey })).status).toBe(204)
  },
  'soft delete, then the purge': async (t, victim) => {
    await Bun.sleep(5)
    expect((await t.request('DELETE', '/v1/account/me', { token: victim.u.session })).status).toBe(202)
    t.clock.advance(31 * DAY)
    expect((await purgeOnce(t.deps)).hardDeleted).toBe(1)
  },
  'soft delete, then the operator hard delete': async (t, victim) => {
    const operator = await t.createUser({ operator: true })
    expect(
      (await t.request('DELETE', `/v1/sandboxes/${victim.sandboxId}`, { token: victim.runtimeKey })).status,
    ).toBe(204)
    await Bun.sleep(5)
    expect((await t.request('DELETE', '/v1/account/me', { token: victim.u.session })).status).toBe(202)
    const r = await t.request('DELETE', `/v1/admin/users/${victim.u.user.id}`, { token: operator.session })
    expect(r.status).toBe(200)
  },
}

describe('writes in flight around an erasure', () => {
  for (const [name, erase] of Object.entries(ERASE))
    it(`${name}: 50 concurrent uploads, page saves and deploys leave nothing behind and never answer 500`, async () => {
      const { t, databasePath, storageDir } = fileBackedApp({ sqlite: false })
      const victim = await buildRichAccount(t, 'race')
      const png = await pngBytes(400, 400)
      const [statuses] = await Promise.all([fireWrites(t, victim, png), erase(t, victim)])

      expect(statuses.filter((s) => s >= 500)).toEqual([])
      // Every write either landed before the erasure (200) or was refused (401/403/404).
      for (const status of statuses) expect([200, 401, 403, 404]).toContain(status)
      const [receipt] = await receiptsOf(t, victim.u.user.id)
      expect(receipt?.step).toBe('done')
      await Bun.sleep(50) // let any request still unwinding finish its clean-up
      expect(await t.deps.storage.exists(t.deps.storage.appPath(victim.appId))).toBe(false)
      t.close()
      expect(scanForStrings({ databasePath, storageDir, logs: '' }, victim.strings)).toEqual({})
    })
})
