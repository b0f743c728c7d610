import { expect, it } from 'bun:test'
import { DAY } from '../../src/lib/clock'
import { purgeOnce } from '../../src/workers/purge'
import { scanForStrings } from '../support/byte-scan'
import { fileBackedApp } from '../support/file-backed-app'
import type { TestApp } from '../support/harness'
import { receiptsOf } from '../support/receipts'
import { buildRichAccount, type RichAccount } from '../support/rich-account'
import { describeSqlite, sqliteOf } from '../support/test-database'

type ErasurePath = (t: TestApp, victim: RichAccount) => Promise<void>

const ERASURE_PATHS: Record<string, ErasurePath> = {
  'DELETE /api/account': async (t, victim) => {
    const r = await t.request('DELETE', '/api/account', {
      token: victim.u.apiKey,
      headers: { 'idempotency-key': `${victim.strings.idempotencyBody}-delete` },
    })
    expect(r.status).toBe(204)
  },
  'DELETE /v1/account/me, then the purge after the grace period': async (t, victim) => {
    const r = await t.request('DELETE', '/v1/account/me', { token: victim.u.session })
    expect(r.status).toBe(202)
    t.clock.advance(31 * DAY)
    const report = await purgeOnce(t.deps)
    expect(report.hardDeleted).toBe(1)
  },
  'DELETE /v1/admin/users/{id}': async (t, victim) => {
    const operator = await t.createUser({ operator: true })
    // The operator route erases soft-deleted accounts without running sandboxes.
    const stopped = await t.request('DELETE', `/v1/sandboxes/${victim.sandboxId}`, {
      token: victim.runtimeKey,
    })
    expect(stopped.status).toBeLessThan(300)
    expect((await t.request('DELETE', '/v1/account/me', { token: victim.u.session })).status).toBe(202)
    const r = await t.request('DELETE', `/v1/admin/users/${victim.u.user.id}`, { token: operator.session })
    expect(r.status).toBeLessThan(300)
  },
}

describeSqlite('no trace of an erased account in any byte the server keeps', () => {
  for (const [name, erase] of Object.entries(ERASURE_PATHS))
    it(`after ${name}: 0 hits in the database, WAL, storage and logs; the kept account is still found`, async () => {
      const { t, databasePath, storageDir, logs } = fileBackedApp()
      const victim = await buildRichAccount(t, 'gone')
      const kept = await buildRichAccount(t, 'kept')
      // Before: the scan sees the victim everywhere (it can find what it looks for).
      expect(
        Object.keys(scanForStrings({ databasePath, storageDir, logs: logs() }, victim.strings)),
      ).toContain('email')

      await erase(t, victim)
      const [receipt] = await receiptsOf(t, victim.u.user.id)
      expect(receipt?.step).toBe('done')

      // While the server still runs (the WAL is truncated once the erasure commits)…
      expect(scanForStrings({ databasePath, storageDir, logs: logs() }, victim.strings)).toEqual({})
      // …and once it has stopped.
      sqliteOf(t.store).sqlite.exec('PRAGMA wal_checkpoint(TRUNCATE)')
      t.close()
      expect(scanForStrings({ databasePath, storageDir, logs: logs() }, victim.strings)).toEqual({})
      const keptHits = scanForStrings({ databasePath, storageDir, logs: '' }, kept.strings)
      for (const label of [
        'email',
        'fullName',
        'appName',
        'slug',
        'homepage',
        'supportEmail',
        'domain',
        'userId',
      ])
        expect({ label, found: label in keptHits }).toEqual({ label, found: true })
      expect(Object.keys(keptHits)).toContain('wellKnown')
    })
})
