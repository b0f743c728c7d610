import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exec } from '../../db/query'
import { sandboxes } from '../../db/schema'
import { writeTransaction } from '../../db/store'
import { createTestApp } from '../support/harness'
import { sqliteOf } from '../support/test-database'
import { header } from './lib/report'

/**
 * In process: the cost of one POST /v1/sandboxes (whole pipeline, quota checks, insert) on a team
 * that already has 0, 1,000 or 30,000 running sandboxes. The quota checks read the team's running
 * totals, so the cost should not grow with the team.
 */
export async function benchSandboxCreateCost() {
  header('POST /v1/sandboxes in process: cost of one create vs running sandboxes of the team')
  // The three teams side by side, measured in interleaved rounds (medians): one pass each swung by
  // ±30% with this machine's moods, more than the effect measured.
  const sizes = [0, 1_000, 30_000]
  const benches = []
  for (const running of sizes) benches.push(await teamWithRunning(running))
  const samples: number[][] = sizes.map(() => [])
  for (let round = 0; round < ROUNDS; round++)
    for (const [i, bench] of benches.entries()) samples[i]?.push(await bench.measure(CREATES_PER_ROUND))
  const medians = samples.map((s) => median(s))
  const base = medians[0] as number
  console.log(`| running sandboxes | µs per create (median of ${ROUNDS} rounds) | × the cost at 0 | rounds |`)
  console.log('|---:|---:|---:|---|')
  for (const [i, running] of sizes.entries())
    console.log(
      `| ${running.toLocaleString('en')} | ${(medians[i] as number).toFixed(0)} | ${((medians[i] as number) / base).toFixed(2)} | ${(samples[i] as number[]).map((m) => m.toFixed(0)).join(', ')} |`,
    )
  for (const bench of benches) bench.close()
}

const ROUNDS = 5
const CREATES_PER_ROUND = 600
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

/** A team with `running` sandboxes seeded, and a timer of creates on it. */
async function teamWithRunning(running: number) {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-create-cost-'))
  const t = createTestApp({
    databasePath: join(dir, 'c.db'),
    env: { RATE_LIMIT_ENABLED: 'false', STORAGE_DIR: join(dir, 'f') },
  })
  const u = await t.createUser()
  sqliteOf(t.store).sqlite.run(
    "INSERT INTO quota_tiers (id, display_name, daily_sandbox_creates, max_concurrent_sandboxes, daily_gb_hours) VALUES ('bench', 'Bench', 1e9, 1e9, 1e12)",
  )
  sqliteOf(t.store).sqlite.run("UPDATE teams SET quota_tier_id = 'bench' WHERE id = ?", [u.team.id])
  const now = t.clock.now()
  await writeTransaction(t.store, async (tx) => {
    for (let i = 0; i < running; i += 500)
      await exec(
        tx.insert(sandboxes).values(
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
        ),
      )
  })
  // The seeded rows go into the database file now: copying them is not the creates' cost.
  sqliteOf(t.store).sqlite.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  const key = await t.runtimeKey(u)
  let n = 0
  const create = () =>
    t.app.handle(
      new Request('http://localhost/v1/sandboxes', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'idempotency-key': `c-${n++}`,
        },
        body: '{"template":"base","memory_mb":512}',
      }),
    )
  for (let i = 0; i < 200; i++) await create() // warm-up (and the day's settlement)
  return {
    /** µs per create over `count` creates. */
    async measure(count: number) {
      const started = performance.now()
      for (let i = 0; i < count; i++) {
        const r = await create()
        if (r.status !== 201) throw new Error(`create answered ${r.status}`)
      }
      return ((performance.now() - started) * 1000) / count
    },
    close: () => t.close(),
  }
}
