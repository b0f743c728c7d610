import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gatherIdentifiers, verifyErasure } from '../../src/services/erasure-verification'
import { createTestApp } from '../support/harness'
import { seedFullAccount } from '../support/seed'
import { sqliteOf } from '../support/test-database'
import { header } from './lib/report'

/**
 * The verification pass that now precedes every erasure's `done` (docs/erasure-proof.md): what it
 * costs as the erased account grows (1, 1k, 30k sandbox rows) and as the database around it grows
 * (its byte scan reads the whole SQLite file and WAL). Beside it, the floor — reading the same
 * bytes and nothing else — and the peer an auditor would run by hand, `grep -c -F <email>` over
 * the file. In process, SQLite file, median of 5 passes after the erasure.
 */
export async function benchErasureProof() {
  header('Verification pass after an erasure: cost against the account and the database (SQLite file)')
  console.log(
    '| account rows | database MiB | DELETE /api/account ms | verification ms | CPU ms | floor: read the files ms | peer: grep -c ms | verification / grep |',
  )
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const [victimRows, neighbourRows] of [
    [1, 0],
    [1_000, 0],
    [30_000, 0],
    [1, 100_000],
    [1, 300_000],
  ] as const)
    await measure(victimRows, neighbourRows)
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

async function measure(victimRows: number, neighbourRows: number) {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-proof-'))
  const databasePath = join(dir, 'c.db')
  const t = createTestApp({
    sqlite: true,
    databasePath,
    env: { RATE_LIMIT_ENABLED: 'false', STORAGE_DIR: join(dir, 'f'), CHECK_CACHES: 'false' },
  })
  try {
    if (neighbourRows > 0) await seedFullAccount(t, await t.createUser(), { sandboxes: neighbourRows })
    const victim = await t.createUser()
    await seedFullAccount(t, victim, { sandboxes: victimRows })
    sqliteOf(t.store).sqlite.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    const ids = await gatherIdentifiers(t.store, victim.user.id)
    const started = performance.now()
    const r = await t.request('DELETE', '/api/account', { token: victim.apiKey })
    const deleteMs = performance.now() - started
    if (r.status !== 204) throw new Error(`erasure answered ${r.status}`)
    const bytes = t.store.databaseFiles.reduce(
      (sum, f) => sum + (statSync(f, { throwIfNoEntry: false })?.size ?? 0),
      0,
    )
    const walls: number[] = []
    const cpus: number[] = []
    const floors: number[] = []
    const greps: number[] = []
    for (let i = 0; i < 5; i++) {
      const cpu = process.cpuUsage()
      const at = performance.now()
      const result = await verifyErasure(t.deps, ids)
      walls.push(performance.now() - at)
      const used = process.cpuUsage(cpu)
      cpus.push((used.user + used.system) / 1000)
      if (!result.clean) throw new Error('the verification found the erased account')
      const readAt = performance.now()
      for (const file of t.store.databaseFiles)
        await Bun.file(file)
          .bytes()
          .catch(() => null)
      floors.push(performance.now() - readAt)
      const grepAt = performance.now()
      Bun.spawnSync(['grep', '-c', '-F', victim.user.email, databasePath])
      greps.push(performance.now() - grepAt)
    }
    const verification = median(walls)
    console.log(
      `| ${victimRows.toLocaleString('en')}${neighbourRows ? ` (+${neighbourRows.toLocaleString('en')} others)` : ''} | ${(bytes / 2 ** 20).toFixed(1)} | ${deleteMs.toFixed(1)} | ${verification.toFixed(1)} | ${median(cpus).toFixed(1)} | ${median(floors).toFixed(1)} | ${median(greps).toFixed(1)} | ${(verification / median(greps)).toFixed(2)}× |`,
    )
  } finally {
    t.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
