import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeTransaction } from '../../db/client'
import { sandboxes } from '../../db/schema'
import { createTestApp } from '../support/harness'
import { header } from './lib/report'

/**
 * In process: the cost of one POST /v1/sandboxes (whole pipeline, quota checks, insert) on a team
 * that already has 0, 1,000 or 30,000 running sandboxes. The quota checks read the team's running
 * totals, so the cost should not grow with the team.
 */
export async function benchSandboxCreateCost() {
  header('POST /v1/sandboxes in process: cost of one create vs running sandboxes of the team')
  console.log('| running sandboxes | µs per create | × the cost at 0 |')
  console.log('|---:|---:|---:|')
  let base = 0
  for (const running of [0, 1_000, 30_000]) {
    const dir = mkdtempSync(join(tmpdir(), 'custodian-create-cost-'))
    const t = createTestApp({
      databasePath: join(dir, 'c.db'),
      env: { RATE_LIMIT_ENABLED: 'false', STORAGE_DIR: join(dir, 'f') },
    })
    const u = await t.createUser()
    t.store.sqlite.run(
      "INSERT INTO quota_tiers (id, display_name, daily_sandbox_creates, max_concurrent_sandboxes, daily_gb_hours) VALUES ('bench', 'Bench', 1e9, 1e9, 1e12)",
    )
    t.store.sqlite.run("UPDATE teams SET quota_tier_id = 'bench' WHERE id = ?", [u.team.id])
    const now = t.clock.now()
    await writeTransaction(t.store, (tx) => {
      for (let i = 0; i < running; i += 500)
        tx.insert(sandboxes)
          .values(
            Array.from({ length: Math.min(500, running - i) }, (_, j) => ({
              id: `sb_seed${String(i + j).padStart(12, '0')}`,
              teamId: u.team.id,
              userId: u.user.id,
              template: 'base',
              status: 'running' as const,
              vcpus: 1,
              memoryMb: 512,
              createdAt: now - 1000,
              updatedAt: now - 1000,
              startedAt: now - 1000,
              chargedUntil: now - 1000,
            })),
          )
          .run()
    })
    const key = await t.runtimeKey(u)
    const create = (n: number) =>
      t.app.handle(
        new Request('http://localhost/v1/sandboxes', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/json',
            'idempotency-key': `c-${n}`,
          },
          body: '{"template":"base","memory_mb":512}',
        }),
      )
    for (let i = 0; i < 200; i++) await create(-i - 1) // warm-up (and the day's settlement)
    const n = 2000
    const started = performance.now()
    for (let i = 0; i < n; i++) {
      const r = await create(i)
      if (r.status !== 201) throw new Error(`create answered ${r.status}`)
    }
    const micros = ((performance.now() - started) * 1000) / n
    if (running === 0) base = micros
    console.log(`| ${running.toLocaleString('en')} | ${micros.toFixed(0)} | ${(micros / base).toFixed(2)} |`)
    t.close()
  }
}
