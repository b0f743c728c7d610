import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '../../src/lib/logger'
import { runToEnd, SOURCE_CLI } from '../support/binary'
import { createTestApp, type TestApp } from '../support/harness'
import { pngBytes } from '../support/images'
import { onPostgres, SQLITE_ONLY } from '../support/test-database'

// A full disk under a running server, on a small filesystem of its own (a 6 MiB tmpfs this test
// mounts): writes answer 507 in each dialect's envelope (never 500 with a stack), one log line per
// episode, /readyz 503 naming storage, a metric of free space — and once space is back it serves
// writes again by itself, with integrity intact and nothing acknowledged lost.
const dir = mkdtempSync(join(tmpdir(), 'custodian-full-'))
const mounted =
  !onPostgres &&
  Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=6m,mode=0700', 'tmpfs', dir]).exitCode === 0
if (!mounted) rmSync(dir, { recursive: true, force: true })
if (!mounted && !onPostgres && process.env.CI)
  throw new Error('CI runs as root and must be able to mount a tmpfs')

describe.skipIf(!mounted)(
  `a full disk (skipped where this process cannot mount a tmpfs)${onPostgres ? SQLITE_ONLY : ''}`,
  () => {
    let t: TestApp
    const lines: string[] = []
    const filler = join(dir, 'filler')
    beforeAll(() => {
      mkdirSync(join(dir, 'files'))
      t = createTestApp({
        sqlite: true,
        databasePath: join(dir, 'custodian.db'),
        env: { STORAGE_DIR: join(dir, 'files'), RATE_LIMIT_ENABLED: 'false' },
        logger: createLogger('info', (line) => lines.push(line)),
      })
    })
    afterAll(() => {
      t?.deps.outages.stop()
      t?.close()
      Bun.spawnSync(['umount', '--lazy', dir])
      rmSync(dir, { recursive: true, force: true })
    })

    /** Writes zeros until the filesystem refuses. */
    function fillDisk() {
      const fd = openSync(filler, 'w')
      const chunk = new Uint8Array(64 * 1024)
      try {
        for (;;) writeSync(fd, chunk)
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC')
      } finally {
        closeSync(fd)
      }
    }

    it('answers 507 in both envelopes, reports it once and on /readyz, and recovers when space returns', async () => {
      const u = await t.createUser()
      const before = await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Kept' } })
      expect(before.status).toBe(201)
      const appId = before.body.appId as string
      const runtime = await t.runtimeKey(u)
      const metrics = await (await t.request('GET', '/metrics')).text()
      expect(metrics).toMatch(/custodian_disk_free_bytes\{directory="database"\} \d+/)
      expect(metrics).toMatch(/custodian_disk_free_bytes\{directory="storage"\} \d+/)

      fillDisk()
      const statuses: number[] = []
      let apiBody: any
      for (let i = 0; i < 30; i++) {
        const r = await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: `Full ${i}` } })
        statuses.push(r.status)
        apiBody ??= r.status === 507 ? r : undefined
      }
      // Some creates may still fit in pages SQLite already holds; none answers 500.
      expect(statuses.filter((s) => s !== 201 && s !== 507)).toEqual([])
      expect(statuses).toContain(507)
      expect(apiBody.body.error.code).toBe('INTERNAL_ERROR')
      expect(apiBody.body.error.message).toContain('disk is full')
      expect(apiBody.headers.get('retry-after')).toMatch(/^\d+$/)
      const icon = await t.json('POST', `/api/apps/${appId}/site/icon`, {
        token: u.apiKey,
        rawBody: await pngBytes(),
        headers: { 'content-type': 'image/png' },
      })
      expect(icon.status).toBe(507)
      const v1 = await t.json('POST', '/v1/keys', { token: runtime, body: { name: 'on a full disk' } })
      expect(v1.status).toBe(507)
      expect(v1.body.code).toBe('storage_full')
      const ready = await t.json('GET', '/readyz')
      expect(ready.status).toBe(503)
      expect(ready.body.storage).toBe('full')
      expect(lines.filter((l) => l.includes('"msg":"storage unavailable"'))).toHaveLength(1)
      expect(lines.filter((l) => l.includes('unhandled error'))).toEqual([])

      rmSync(filler)
      const deadline = Date.now() + 15_000
      while ((await t.request('GET', '/readyz')).status !== 200 && Date.now() < deadline) await Bun.sleep(100)
      expect((await t.json('GET', '/readyz')).body.storage).toBe('ok')
      const after = await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: 'After' } })
      expect(after.status).toBe(201)
      expect(lines.filter((l) => l.includes('"msg":"storage available again"'))).toHaveLength(1)
      expect(await t.rows('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }])
      const names = (await t.rows<{ app_name: string }>('SELECT app_name FROM apps')).map((r) => r.app_name)
      expect(names).toContain('Kept')
      expect(names).toContain('After')
    }, 60_000)
  },
)

describe.skipIf(!mounted)(`a read-only STORAGE_DIR${onPostgres ? SQLITE_ONLY : ''}`, () => {
  const readOnly = mkdtempSync(join(tmpdir(), 'custodian-ro-'))
  const data = mkdtempSync(join(tmpdir(), 'custodian-ro-data-'))
  beforeAll(() => {
    expect(Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', readOnly]).exitCode).toBe(0)
  })
  afterAll(() => {
    Bun.spawnSync(['umount', '--lazy', readOnly])
    rmSync(readOnly, { recursive: true, force: true })
    rmSync(data, { recursive: true, force: true })
  })

  it('stops `serve` at start, naming STORAGE_DIR', async () => {
    const run = await runToEnd(
      [...SOURCE_CLI, 'serve'],
      { ...process.env, DATABASE_PATH: join(data, 'custodian.db'), STORAGE_DIR: readOnly, PORT: '0' },
      data,
    )
    expect(run.code).toBe(78)
    expect(run.stderr).toContain('STORAGE_DIR')
    expect(run.stderr).toContain('EROFS')
  })

  it('is reported by /readyz, and an upload into it answers 503 rather than 500', async () => {
    const t = createTestApp({ sqlite: true, env: { STORAGE_DIR: readOnly, RATE_LIMIT_ENABLED: 'false' } })
    try {
      const ready = await t.json('GET', '/readyz')
      expect(ready.status).toBe(503)
      expect(ready.body.storage).toBe('unwritable')
      expect(ready.body.reason).toContain('STORAGE_DIR')
      const u = await t.createUser()
      const created = await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Icons' } })
      const icon = await t.json('POST', `/api/apps/${created.body.appId}/site/icon`, {
        token: u.apiKey,
        rawBody: await pngBytes(),
        headers: { 'content-type': 'image/png' },
      })
      expect(icon.status).toBe(503)
      expect(icon.headers.get('retry-after')).toMatch(/^\d+$/)
    } finally {
      t.deps.outages.stop()
      t.close()
    }
  })
})
