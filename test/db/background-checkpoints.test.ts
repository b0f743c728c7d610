import { afterEach, expect } from 'bun:test'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BackgroundCheckpoints, startBackgroundCheckpoints } from '../../db/checkpointer'
import { createTestApp, type TestApp } from '../support/harness'
import { itSqlite } from '../support/test-database'

// `serve` copies the WAL back into the database file from a worker thread (db/checkpointer.ts),
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
    env: { STORAGE_DIR: join(dir, 'files') },
  })
}

const autoCheckpoint = (app: TestApp) =>
  (app.store.sqlite.query('PRAGMA wal_autocheckpoint').get() as { wal_autocheckpoint: number })
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
    checkpoints = await startBackgroundCheckpoints(t.store, () => {}, 20)
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

itSqlite('gives the connection its auto-checkpoint back when stopped', async () => {
  t = fileBackedApp()
  checkpoints = await startBackgroundCheckpoints(t.store, () => {})
  expect(autoCheckpoint(t)).toBe(0)
  await checkpoints?.stop()
  checkpoints = null
  expect(autoCheckpoint(t)).toBe(1000)
})

itSqlite('is not started for an in-memory database', async () => {
  const memory = createTestApp({ sqlite: true })
  try {
    expect(await startBackgroundCheckpoints(memory.store, () => {})).toBeNull()
  } finally {
    memory.close()
  }
})
