import { describe, expect, it } from 'bun:test'
import { checkCertificateAndChain } from '../../src/services/certificate-format'
import { createTestApp } from '../support/harness'
import { closeAll, instances } from '../support/pg-instances'
import { onPostgres } from '../support/test-database'

// Several instances share one database only on PostgreSQL; on SQLite one process issues them all.
const describePostgres = onPostgres ? describe : describe.skip
describePostgres(
  `erasure certificates with three instances${onPostgres ? '' : ' [PostgreSQL only: SQLite serves one instance]'}`,
  () => {
    it('erasures racing on three instances form one unbroken chain', async () => {
      const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
      const users = []
      for (let i = 0; i < 12; i++) users.push(await t.createUser())
      const all = await instances(t, 3)
      try {
        const answers = await Promise.all(
          users.map((u, i) =>
            (all[i % all.length] as (typeof all)[number]).request('DELETE', '/api/account', u.apiKey),
          ),
        )
        expect(answers.map((r) => r.status)).toEqual(users.map(() => 204))
        const rows = await t.rows<{ seq: number; document: string }>(
          'SELECT seq, document FROM erasure_certificates ORDER BY seq',
        )
        expect(rows.map((r) => Number(r.seq))).toEqual(users.map((_, i) => i + 1))
        const texts = rows.map((r) => r.document)
        const result = await checkCertificateAndChain(texts.at(-1) as string, { chain: texts })
        expect(result.reasons).toContain('chain of 12 intact from 1 to 12')
        expect(result.ok).toBe(true)
      } finally {
        closeAll(all)
      }
    })
  },
)
