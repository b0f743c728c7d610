import { describe, expect, it } from 'bun:test'
import { rawDbOf, readTransaction, writeTransaction } from '../../db/store'
import { createTestApp } from '../support/harness'
import { onPostgres } from '../support/test-database'

// What the PostgreSQL store's transactions promise (db/pg/store.ts). Registered in the
// PostgreSQL pass (`bun run test:postgres`): a process builds its queries for one dialect.
if (onPostgres)
  describe('transactions on PostgreSQL', () => {
    it('reads in one snapshot that a write committed meanwhile does not change', async () => {
      const t = createTestApp()
      const u = await t.createUser()
      let release = () => {}
      const seen = readTransaction(t.store, async (tx) => {
        const raw = rawDbOf(tx)
        const first = await raw.prepare('SELECT display_name FROM users WHERE id = ?').get(u.user.id)
        await new Promise<void>((resolve) => {
          release = resolve
        })
        const second = await raw.prepare('SELECT display_name FROM users WHERE id = ?').get(u.user.id)
        return [first, second]
      })
      await Bun.sleep(20)
      await writeTransaction(t.store, (tx) =>
        rawDbOf(tx).prepare('UPDATE users SET display_name = ? WHERE id = ?').run('changed', u.user.id),
      )
      release()
      expect(await seen).toEqual([{ display_name: null }, { display_name: null }])
      expect(await t.row('SELECT display_name FROM users WHERE id = ?', u.user.id)).toEqual({
        display_name: 'changed',
      })
    })

    it('refuses a write inside a read transaction, and rolls a failed write transaction back whole', async () => {
      const t = createTestApp()
      const u = await t.createUser()
      await expect(
        readTransaction(t.store, (tx) =>
          rawDbOf(tx).prepare('UPDATE users SET display_name = ? WHERE id = ?').run('x', u.user.id),
        ),
      ).rejects.toThrow(/read-only transaction/)
      await expect(
        writeTransaction(t.store, async (tx) => {
          await rawDbOf(tx).prepare('UPDATE users SET display_name = ? WHERE id = ?').run('half', u.user.id)
          throw new Error('refused')
        }),
      ).rejects.toThrow('refused')
      expect(await t.row('SELECT display_name FROM users WHERE id = ?', u.user.id)).toEqual({
        display_name: null,
      })
    })
  })
