import { describe, expect, it } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { SQL } from 'bun'
import { createTestApp } from '../support/harness'
import { onPostgres } from '../support/test-database'

// What an erasure leaves in PostgreSQL's table and index files (base/), read as bytes: after the
// erasure and its VACUUM the freed row versions are reusable but not overwritten, so the erased
// email and id can still be found there; `custodian compact` (VACUUM FULL) leaves none.
// docs/postgresql.md says what stays where. Registered in the PostgreSQL pass.
if (onPostgres)
  describe('an erased account in PostgreSQL’s files', () => {
    it('reports what the VACUUM leaves in base/, and leaves nothing once compacted', async () => {
      const t = createTestApp()
      const email = `files-${crypto.randomUUID()}@example.com`
      const u = await t.createUser({ email })
      await t.createUser()
      await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Files App' } })
      const pool = (t.store.orm as unknown as { $client: SQL }).$client
      const [{ dir }] =
        await pool`SELECT current_setting('data_directory') || '/base/' || (SELECT oid FROM pg_database WHERE datname = current_database())::text AS dir`
      /** Relations whose files hold the account's email or id, after a checkpoint wrote them out. */
      const remains = async () => {
        await pool`CHECKPOINT`
        const names = new Map<string, string>(
          (await pool`SELECT relfilenode::text AS file, relname FROM pg_class WHERE relfilenode <> 0`).map(
            (r: { file: string; relname: string }) => [r.file, r.relname],
          ),
        )
        const found = new Set<string>()
        for (const file of readdirSync(dir)) {
          const bytes = readFileSync(join(dir, file))
          if (bytes.includes(Buffer.from(email)) || bytes.includes(Buffer.from(u.user.id)))
            found.add(names.get(file.split('.')[0] as string) ?? file)
        }
        return [...found].sort()
      }
      expect(await remains()).toContain('users')
      expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
      const deadline = Date.now() + 10_000
      while (
        (
          await pool`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query ILIKE 'VACUUM%' AND state = 'active'`
        )[0].n > 0 &&
        Date.now() < deadline
      )
        await Bun.sleep(100)
      const afterVacuum = await remains()
      console.log(`after the erasure's VACUUM, still in the files of: ${afterVacuum.join(', ') || 'none'}`)
      await t.store.compact()
      expect(await remains()).toEqual([])
      t.close()
    }, 60_000)
  })
