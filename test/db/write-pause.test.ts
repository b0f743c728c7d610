import { afterEach, expect } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeTransaction } from '../../db/client'
import { createTestApp, type TestApp } from '../support/harness'
import { itSqlite } from '../support/test-database'

// The WAL restart holds back writes while the checkpoint worker copies the last frames, and only
// writes (db/write-pause.ts): requests that read keep being answered meanwhile.

let dir = ''
let t: TestApp | null = null
afterEach(() => {
  t?.store.writes.resume()
  t?.close()
  t = null
  if (dir) rmSync(dir, { recursive: true, force: true })
})

function app() {
  dir = mkdtempSync(join(tmpdir(), 'custodian-write-pause-'))
  return createTestApp({
    sqlite: true,
    databasePath: join(dir, 'custodian.db'),
    env: { STORAGE_DIR: join(dir, 'files') },
  })
}

const settledWithin = async (promise: Promise<unknown>, ms: number) => {
  let settled = false
  void promise.then(() => {
    settled = true
  })
  await Bun.sleep(ms)
  return settled
}

itSqlite('answers reads while writes are held back, then runs the held writes in order', async () => {
  t = app()
  const u = await t.createUser()
  const created = await t.request('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Paused' } })
  const { appId } = (await created.json()) as { appId: string }

  await t.store.writes.pause()
  const first = t.request('PATCH', '/v1/account/me', { token: u.session, body: { display_name: 'first' } })
  const second = t.request('PATCH', '/v1/account/me', { token: u.session, body: { display_name: 'second' } })
  const read = await t.request('GET', '/api/apps', { token: u.apiKey })
  expect(read.status).toBe(200)
  expect(((await read.json()) as { appId: string }[]).map((a) => a.appId)).toEqual([appId])
  expect(await settledWithin(first, 30)).toBe(false)

  t.store.writes.resume()
  expect((await first).status).toBe(200)
  expect((await second).status).toBe(200)
  const me = await t.request('GET', '/v1/account/me', { token: u.session })
  expect(((await me.json()) as { user: { display_name: string } }).user.display_name).toBe('second')
})

itSqlite('pauses only once the writes already begun have committed', async () => {
  t = app()
  const store = t.store
  store.sqlite.run('CREATE TABLE pause_probe (n INTEGER)')
  let release = () => {}
  const inFlight = writeTransaction(store, async (tx) => {
    tx.$client.run('INSERT INTO pause_probe VALUES (1)')
    await new Promise<void>((resolve) => {
      release = resolve
    })
  })
  const paused = store.writes.pause()
  expect(await settledWithin(paused, 20)).toBe(false)
  release()
  await inFlight
  await paused
  // Committed before the pause resolved: a reader on another connection sees it.
  const count = store.sqlite.query('SELECT count(*) AS n FROM pause_probe').get() as { n: number }
  expect(count.n).toBe(1)
  store.writes.resume()
})
