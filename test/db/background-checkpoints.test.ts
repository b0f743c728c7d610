import { afterEach, expect } from 'bun:test'
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BackgroundCheckpoints, startBackgroundCheckpoints } from '../../db/sqlite/checkpointer'
import { createTestApp, type TestApp } from '../support/harness'
import { itSqlite, sqliteOf } from '../support/test-database'

// `serve` copies the WAL back into the database file from a worker thread (db/sqlite/checkpointer.ts),
// not inside the COMMIT of whichever request crosses 1,000 pages. These tests write through the
// API and watch the database file itself: with the auto-checkpoint off, only the worker can make
// it grow.

let dir = ''
let t: TestApp | null = null
let checkpoints: BackgroundCheckpoints | null = null
afterEach(async () => {
  await checkpoints?.stop()
  checkpoints = null
  t?.close()
  t = null
  if (dir) rmSync(dir, { recursive: true, force: true })
})

function fileBackedApp() {
  dir = mkdtempSync(join(tmpdir(), 'custodian-checkpoints-'))
  return createTestApp({
    sqlite: true,
    databasePath: join(dir, 'custodian.db'),
    env: { STORAGE_DIR: join(dir, 'files'), RATE_LIMIT_DEFAULT: '100000/60' },
  })
}

const autoCheckpoint = (app: TestApp) =>
  (sqliteOf(app.store).sqlite.query('PRAGMA wal_autocheckpoint').get() as { wal_autocheckpoint: number })
    .wal_autocheckpoint

async function writeSomePages(app: TestApp, count: number) {
  const u = await app.createUser()
  for (let i = 0; i < count; i++) {
    const r = await app.request('POST', '/api/apps', { token: u.apiKey, body: { appName: `Filler ${i}` } })
    expect(r.status).toBe(201)
    const { appId } = (await r.json()) as { appId: string }
    const page = await app.request('PUT', `/api/apps/${appId}/support-page`, {
      token: u.apiKey,
      body: { contactEmail: 'help@example.com', additionalInfo: 'x'.repeat(3000) },
    })
    expect(page.status).toBe(200)
  }
}

itSqlite(
  'copies committed pages into the database file from its own thread, with the auto-checkpoint off',
  async () => {
    t = fileBackedApp()
    checkpoints = await startBackgroundCheckpoints(sqliteOf(t.store), () => {}, { intervalMs: 20 })
    expect(checkpoints).not.toBeNull()
    expect(autoCheckpoint(t)).toBe(0)
    const dbFile = join(dir, 'custodian.db')
    const before = statSync(dbFile).size
    await writeSomePages(t, 5)
    // Five support pages of 3,000 characters cannot fit in the pages the file had.
    const deadline = Date.now() + 5000
    while (statSync(dbFile).size <= before && Date.now() < deadline) await Bun.sleep(20)
    expect(statSync(dbFile).size).toBeGreaterThan(before)
    // And what the worker copied is what the API says.
    const u = await t.createUser({ email: 'reader@example.com' })
    const apps = await t.request('GET', '/api/apps', { token: u.apiKey })
    expect(await apps.json()).toEqual([])
  },
)

/** The WAL header's first salt: SQLite draws a new one each time it restarts the log from its top. */
function walSalt(walFile: string): number | null {
  const fd = openSync(walFile, 'r')
  try {
    const header = Buffer.alloc(32)
    return readSync(fd, header, 0, 32, 0) === 32 ? header.readUInt32BE(16) : null
  } finally {
    closeSync(fd)
  }
}

itSqlite(
  'restarts the WAL from its top although writes never pause (it does not grow without bound)',
  async () => {
    t = fileBackedApp()
    // A restart needs every frame copied back at the moment the server's connection begins a
    // transaction; with writes back to back the worker's copy never catches up on its own.
    checkpoints = await startBackgroundCheckpoints(sqliteOf(t.store), () => {}, {
      intervalMs: 10,
      restartAtFrames: 50,
    })
    const walFile = join(dir, 'custodian.db-wal')
    const u = await t.createUser()
    const created = await t.request('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Busy' } })
    const { appId } = (await created.json()) as { appId: string }
    const salts = new Set<number | null>()
    const saves = 1200
    for (let i = 0; i < saves; i++) {
      const page = await t.request('PUT', `/api/apps/${appId}/support-page`, {
        token: u.apiKey,
        body: { contactEmail: 'help@example.com', additionalInfo: `${i}`.padStart(4, '0').repeat(700) },
      })
      expect(page.status).toBe(200)
      salts.add(walSalt(walFile))
      // A server's event loop turns between requests (sockets); app.handle alone never yields to
      // the worker's messages.
      await new Promise((resolve) => setImmediate(resolve))
    }
    // Each salt is a restart: 14–19 here; 2–3 when the copy alone had to find a pause in the writes.
    expect(salts.size).toBeGreaterThan(7)
    const page = await t.request('GET', `/api/apps/${appId}/support-page`, { token: u.apiKey })
    expect(((await page.json()) as { additionalInfo: string }).additionalInfo).toBe(
      `${saves - 1}`.padStart(4, '0').repeat(700),
    )
  },
)

itSqlite('gives the connection its auto-checkpoint back when stopped', async () => {
  t = fileBackedApp()
  checkpoints = await startBackgroundCheckpoints(sqliteOf(t.store), () => {})
  expect(autoCheckpoint(t)).toBe(0)
  await checkpoints?.stop()
  checkpoints = null
  expect(autoCheckpoint(t)).toBe(1000)
})

itSqlite('is not started for an in-memory database', async () => {
  const memory = createTestApp({ sqlite: true })
  try {
    expect(await startBackgroundCheckpoints(sqliteOf(memory.store), () => {})).toBeNull()
  } finally {
    memory.close()
  }
})
