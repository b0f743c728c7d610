import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DAY } from '../../src/lib/clock'
import { utcDay } from '../../src/lib/time'
import { consolePage, signIn } from '../support/console'
import { createTestApp, type TestApp } from '../support/harness'
import { header } from './lib/report'

/**
 * The console's pages at 1k, 30k and 100k accounts (docs/console.md): server time per page
 * (in process through app.handle, so no socket or browser in the figure), p50/p95 of 40 requests
 * after 5 warm-ups, and CPU µs per request. Beside each page, the floor — the console's own
 * stylesheet through the same pipeline, the least a console request can cost — and the peer an
 * operator uses without the console: the /v1/admin JSON route that answers the same question.
 * The store follows TEST_DATABASE (SQLite file by default; `TEST_DATABASE=postgres`).
 */
export async function benchConsole() {
  header('Operator console: server time per page as accounts grow')
  for (const accounts of [1_000, 30_000, 100_000]) await measureAt(accounts)
}

/** `n` rows from a recursive counter, in SQL both engines run. */
const counter = (n: number) =>
  `WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < ${n})`

/** A UUID-shaped id for row `i` of one kind (the API's schemas check the shape). */
const uuidOf = (kind: string) => `'00000000-0000-7000-${kind}-' || (100000000000 + i)`
const USER = '8000'
const TEAM = '9000'

async function seed(t: TestApp, accounts: number) {
  const now = t.clock.now()
  await t.exec(`${counter(accounts)}
    INSERT INTO users (id, email, is_operator, tier, quota_tier_id, abuse_flags, created_at, updated_at, last_active_at, email_verified_at, delete_scheduled_at, soft_deleted_at)
    SELECT ${uuidOf(USER)}, 'user' || i || '@bench.test', FALSE, 'free', 'free', '{}', ${now} - i, ${now}, ${now}, ${now},
      CASE WHEN i % 100 = 0 THEN ${now} + i ELSE NULL END, CASE WHEN i % 100 = 0 THEN ${now} ELSE NULL END FROM n`)
  await t.exec(`${counter(accounts)}
    INSERT INTO teams (id, owner_user_id, name, slug, quota_tier_id, created_at, updated_at)
    SELECT ${uuidOf(TEAM)}, ${uuidOf(USER)}, 'team ' || i, 'team-' || i, 'free', ${now} - i, ${now} FROM n`)
  await t.exec(`${counter(accounts)}
    INSERT INTO api_keys (id, user_id, team_id, kind, key_prefix, key_hash, is_active, created_at)
    SELECT ${uuidOf('a000')}, ${uuidOf(USER)}, ${uuidOf(TEAM)}, 'orbit', 'ok_bench' || i, 'hash' || i, TRUE, ${now} FROM n`)
  // A month of usage by the busiest 3% of teams.
  const active = Math.max(10, Math.floor(accounts * 0.03))
  for (let d = 0; d < 30; d++)
    await t.exec(`${counter(active)}
      INSERT INTO quota_usage (team_id, usage_date, sandbox_creates, gb_hours, updated_at)
      SELECT ${uuidOf(TEAM)}, '${utcDay(now - d * DAY)}', (i * 7 + ${d}) % 50, 0.5, ${now} FROM n`)
  const receipts = Math.floor(accounts / 5)
  await t.exec(`${counter(receipts)}
    INSERT INTO account_deletions (id, user_hash, mode, step, attempts, requested_at, updated_at, completed_at)
    SELECT ${uuidOf('b000')}, 'pseudonym' || i, 'immediate', CASE WHEN i % 500 = 0 THEN 'incomplete' ELSE 'done' END, 1,
      ${now} - i * 1000, ${now}, ${now} FROM n`)
  await t.exec(`${counter(Math.floor(accounts / 20))}
    INSERT INTO data_requests (id, type, status, user_id, channel, received_at, due_at, paused_days, extended_months, created_at, updated_at)
    SELECT ${uuidOf('c000')}, 'access', CASE WHEN i % 3 = 0 THEN 'fulfilled' ELSE 'received' END, ${uuidOf(USER)}, 'email',
      ${now} - i * 60000, ${now} + (i % 60 - 10) * ${DAY}, 0, 0, ${now}, ${now} FROM n`)
  await t.exec(`${counter(5)}
    INSERT INTO webhook_endpoints (id, url, events, processor, format, status, secret, created_at, updated_at)
    SELECT 'we' || i, 'https://hooks' || i || '.example/x', '["*"]', FALSE, 'standard', 'enabled', 'sealed', ${now} - i, ${now} FROM n`)
  await t.exec(`${counter(Math.min(20_000, accounts))}
    INSERT INTO webhook_deliveries (id, event_id, event_type, endpoint_id, ordering_key, status, attempts, next_attempt_at, created_at, updated_at)
    SELECT 'whd' || (100000000 + i), 'evt' || i, 'account.created', 'we1', 'u' || i, CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'succeeded' END, 1, ${now}, ${now}, ${now} FROM n`)
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number

async function timed(run: () => Promise<{ status: number }>, label = '') {
  for (let i = 0; i < 5; i++) await run()
  const walls: number[] = []
  const cpu = process.cpuUsage()
  for (let i = 0; i < 40; i++) {
    const at = performance.now()
    const { status } = await run()
    walls.push(performance.now() - at)
    if (status !== 200) throw new Error(`${label} answered ${status}`)
  }
  const used = process.cpuUsage(cpu)
  walls.sort((a, b) => a - b)
  return { p50: percentile(walls, 0.5), p95: percentile(walls, 0.95), cpuUs: (used.user + used.system) / 40 }
}

async function measureAt(accounts: number) {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-console-'))
  const t = createTestApp({
    databasePath: join(dir, 'c.db'),
    env: { RATE_LIMIT_ENABLED: 'false', STORAGE_DIR: join(dir, 'f'), CHECK_CACHES: 'false' },
  })
  try {
    const seededAt = performance.now()
    await seed(t, accounts)
    // On PostgreSQL, as autovacuum would leave a bulk load: statistics and the visibility map
    // (index-only counts). SQLite is left as the server leaves it (it never runs ANALYZE).
    if (t.store.dialect === 'postgres') {
      const { SQL } = await import('bun')
      const sql = new SQL({ url: t.store.path, max: 1 })
      await sql.unsafe('VACUUM ANALYZE')
      await sql.close()
    }
    const operator = await t.createUser({ operator: true })
    const session = await signIn(t, operator.apiKey)
    const seedMs = performance.now() - seededAt
    const middle = `00000000-0000-7000-${USER}-${100000000000 + Math.floor(accounts / 2)}`
    const peer = (path: string) => () => t.request('GET', path, { token: operator.session })
    const page = (path: string) => () => consolePage(t, session, path)
    const floor = await timed(page('/console/assets/console.css'))
    const pages: [string, string, string | null][] = [
      ['overview', '/console', '/metrics'],
      ['accounts, first page', '/console/accounts', '/v1/admin/users'],
      ['accounts, search email', '/console/accounts?q=user4242', '/v1/admin/users?query=user4242'],
      ['accounts, search key prefix', `/console/accounts?q=ok_bench${Math.floor(accounts / 3)}`, null],
      ['accounts, search id', `/console/accounts?q=${middle}`, null],
      ['accounts, deep page', `/console/accounts?after=${middle}`, null],
      ['accounts, scheduled', '/console/accounts?filter=scheduled', null],
      ['account detail', `/console/accounts/${middle}`, `/v1/admin/users/${middle}`],
      ['erasures', '/console/erasures', '/v1/admin/deletions'],
      ['erasures, incomplete', '/console/erasures?state=incomplete', null],
      ['requests', '/console/requests', '/v1/admin/requests'],
      ['requests, overdue', '/console/requests?due=overdue', '/v1/admin/requests?overdue=true'],
      ['webhooks', '/console/webhooks', '/v1/admin/webhook-endpoints'],
      ['endpoint deliveries', '/console/webhooks/we1', '/v1/admin/webhook-endpoints/we1/deliveries'],
      ['quotas', '/console/quotas', null],
    ]
    console.log(
      `\n### ${accounts.toLocaleString('en-US')} accounts (${t.store.dialect}; seeded in ${(seedMs / 1000).toFixed(1)} s); floor: the stylesheet, p50 ${floor.p50.toFixed(2)} ms, ${floor.cpuUs.toFixed(0)} CPU µs`,
    )
    console.log(
      '| page | p50 ms | p95 ms | CPU µs/req | × floor (p50) | peer: /v1/admin JSON | peer p50 ms | page / peer |',
    )
    console.log('|---|---:|---:|---:|---:|---|---:|---:|')
    for (const [name, path, peerPath] of pages) {
      const ours = await timed(page(path), path)
      const theirs = peerPath ? await timed(peer(peerPath), peerPath) : null
      console.log(
        `| ${name} | ${ours.p50.toFixed(2)} | ${ours.p95.toFixed(2)} | ${ours.cpuUs.toFixed(0)} | ${(ours.p50 / floor.p50).toFixed(1)} | ${peerPath ? `\`${peerPath.split('?')[0]}\`` : '—'} | ${theirs ? theirs.p50.toFixed(2) : '—'} | ${theirs ? (ours.p50 / theirs.p50).toFixed(2) : '—'} |`,
      )
    }
  } finally {
    t.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
