import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBackgroundCheckpoints } from '../../db/sqlite/checkpointer'
import { createTestApp } from '../support/harness'
import { sqliteOf } from '../support/test-database'
import { header } from './lib/report'

/**
 * In process (`app.handle`, no sockets): what each operation of `bun run bench:load`'s mix costs,
 * in wall and CPU µs — where the server's time goes when the mixed load saturates it.
 */
export async function benchMixCost() {
  header('The mixed load’s operations in process: µs per request (2,000 each, after 300 warm-up)')
  const dir = mkdtempSync(join(tmpdir(), 'custodian-mix-'))
  const t = createTestApp({
    databasePath: join(dir, 'c.db'),
    env: { RATE_LIMIT_DEFAULT: '1000000000/60', STORAGE_DIR: join(dir, 'f'), CHECK_CACHES: 'false' },
  })
  // As `serve` runs: WAL checkpoints on their own thread (BENCH_CHECKPOINTS=inline: in the commit).
  const checkpoints =
    process.env.BENCH_CHECKPOINTS === 'inline'
      ? null
      : await startBackgroundCheckpoints(sqliteOf(t.store), (message, fields) =>
          console.error(message, fields),
        )
  const u = await t.createUser()
  sqliteOf(t.store).sqlite.run(
    "INSERT INTO quota_tiers (id, display_name, daily_sandbox_creates, max_concurrent_sandboxes, daily_gb_hours) VALUES ('bench', 'Bench', 1e9, 1e9, 1e12)",
  )
  sqliteOf(t.store).sqlite.run("UPDATE teams SET quota_tier_id = 'bench' WHERE id = ?", [u.team.id])
  const runtime = await t.runtimeKey(u)
  const created = await t.request('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Mix' } })
  const appId = ((await created.json()) as { appId: string }).appId
  let n = 0
  const live: string[] = []
  const ops: [string, () => Promise<Response>][] = [
    ['GET /api/status', () => t.request('GET', '/api/status', { token: u.apiKey })],
    ['GET /api/apps', () => t.request('GET', '/api/apps', { token: u.apiKey })],
    ['GET /v1/account/me', () => t.request('GET', '/v1/account/me', { token: u.session })],
    [
      'POST /v1/sandboxes',
      async () => {
        const r = await t.request('POST', '/v1/sandboxes', {
          token: runtime,
          headers: { 'idempotency-key': `k${n++}` },
          body: { memory_mb: 512, metadata: { n } },
        })
        live.push(((await r.clone().json()) as { id: string }).id)
        return r
      },
    ],
    // After the creates, so a page holds 20 sandboxes as under the mixed load.
    ['GET /v1/sandboxes?limit=20', () => t.request('GET', '/v1/sandboxes?limit=20', { token: runtime })],
    [
      'DELETE /v1/sandboxes/{id}',
      () => t.request('DELETE', `/v1/sandboxes/${live.pop()}`, { token: runtime }),
    ],
    [
      'PATCH /v1/account/me',
      () => t.request('PATCH', '/v1/account/me', { token: u.session, body: { display_name: `name-${n++}` } }),
    ],
    [
      'PUT /api/apps/{id}/support-page',
      () =>
        t.request('PUT', `/api/apps/${appId}/support-page`, {
          token: u.apiKey,
          body: { contactEmail: 'help@load.example', additionalInfo: `info-${n++}` },
        }),
    ],
  ]
  console.log('| operation | wall µs | CPU µs |')
  console.log('|---|---:|---:|')
  for (const [name, op] of ops) {
    for (let i = 0; i < 300; i++) {
      const r = await op()
      if (r.status >= 300) throw new Error(`${name} answered ${r.status}`)
      await r.arrayBuffer()
    }
    const count = 2000
    const cpu = process.cpuUsage()
    const started = performance.now()
    for (let i = 0; i < count; i++) await (await op()).arrayBuffer()
    const used = process.cpuUsage(cpu)
    console.log(
      `| ${name} | ${(((performance.now() - started) * 1000) / count).toFixed(0)} | ${((used.user + used.system) / count).toFixed(0)} |`,
    )
  }
  await checkpoints?.stop()
  t.close()
}
