import { describe, expect, it } from 'bun:test'
import { createArchive } from '../../src/services/export-archives'
import { buildArchives } from '../../src/workers/archives'
import { createTestApp } from '../support/harness'
import { closeAll, instances } from '../support/pg-instances'
import { onPostgres } from '../support/test-database'

// Several instances share one database only on PostgreSQL; on SQLite one process builds them all.
const describePostgres = onPostgres ? describe : describe.skip
describePostgres(
  `export archives with three instances${onPostgres ? '' : ' [PostgreSQL only: SQLite serves one instance]'}`,
  () => {
    it('three builders racing build each archive exactly once', async () => {
      const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
      const users = [await t.createUser(), await t.createUser()]
      const ids: string[] = []
      for (const u of users)
        for (const format of ['json', 'csv', 'json'] as const)
          ids.push((await createArchive(t.deps, u.user.id, format, 'v1')).id)
      const all = await instances(t, 3)
      try {
        const built = await Promise.all(all.map((instance) => buildArchives(instance.deps)))
        // Whatever one pass left (an account's next archive waits for its first), the next finishes.
        const more = await Promise.all(all.map((instance) => buildArchives(instance.deps)))
        const rows = await t.rows<{ status: string; attempts: number }>(
          'SELECT status, attempts FROM export_archives ORDER BY id',
        )
        expect(rows.map((r) => r.status)).toEqual(ids.map(() => 'ready'))
        expect(rows.map((r) => Number(r.attempts))).toEqual(ids.map(() => 1))
        expect([...built, ...more].reduce((a, b) => a + b, 0)).toBe(ids.length)
      } finally {
        closeAll(all)
      }
    })
  },
)
