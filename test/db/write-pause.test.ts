import { afterEach, expect } from 'bun:test'
import { writeTransaction } from '../../db/store'
import { fileBackedApp } from '../support/file-backed-app'
import type { TestApp } from '../support/harness'
import { itSqlite, sqliteOf } from '../support/test-database'

// The WAL restart holds back writes while the checkpoint worker copies the last frames, and only
// writes (db/sqlite/write-pause.ts): requests that read keep being answered meanwhile.

let t: TestApp | null = null
afterEach(() => {
  if (t?.store.dialect === 'sqlite') sqliteOf(t.store).writes.resume()
  t?.close()
  t = null
})

const app = () => fileBackedApp().t

const settledWithin = async (promise: Promise<unknown>, ms: number) => {
  let settled = false
  void promise.then(() => {
    settled = true
  })
  await Bun.sleep(ms)
  return settled
}

itSqlite('answers reads while writes are held back, then runs the held write', async () => {
  t = app()
  const u = await t.createUser()
  const created = await t.request('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Paused' } })
  const { appId } = (await created.json()) as { appId: string }

  await sqliteOf(t.store).writes.pause()
  const held = t.request('PATCH', '/v1/account/me', { token: u.session, body: { display_name: 'held' } })
  const read = await t.request('GET', '/api/apps', { token: u.apiKey })
  expect(read.status).toBe(200)
  expect(((await read.json()) as { appId: string }[]).map((a) => a.appId)).toEqual([appId])
  expect(await settledWithin(held, 30)).toBe(false)

  sqliteOf(t.store).writes.resume()
  expect((await held).status).toBe(200)
  const me = await t.request('GET', '/v1/account/me', { token: u.session })
  expect(((await me.json()) as { user: { display_name: string } }).user.display_name).toBe('held')
})

itSqlite('pauses only once the writes already begun have committed', async () => {
  t = app()
  const store = sqliteOf(t.store)
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
  // The write had finished before the pause resolved.
  const count = store.sqlite.query('SELECT count(*) AS n FROM pause_probe').get() as { n: number }
  expect(count.n).toBe(1)
  store.writes.resume()
})

itSqlite('lets held writes go in the order they arrived', async () => {
  t = app()
  const store = sqliteOf(t.store)
  store.sqlite.run('CREATE TABLE pause_order (n INTEGER)')
  await store.writes.pause()
  const writes = [1, 2, 3].map((n) =>
    writeTransaction(store, (tx) => {
      tx.$client.run('INSERT INTO pause_order VALUES (?)', [n])
    }),
  )
  store.writes.resume()
  await Promise.all(writes)
  const order = store.sqlite.query('SELECT n FROM pause_order ORDER BY rowid').all() as { n: number }[]
  expect(order.map((row) => row.n)).toEqual([1, 2, 3])
})

itSqlite('ends the pause at the next write once its reason is over, without waiting to be told', async () => {
  t = app()
  const store = sqliteOf(t.store)
  store.sqlite.run('CREATE TABLE pause_over (n INTEGER)')
  let over = false
  await store.writes.pause(() => over)
  const held = writeTransaction(store, (tx) => {
    tx.$client.run('INSERT INTO pause_over VALUES (1)')
  })
  expect(await settledWithin(held, 20)).toBe(false)
  over = true
  // Nobody calls resume(): the next write sees the pause is over and lets both go.
  await writeTransaction(store, (tx) => {
    tx.$client.run('INSERT INTO pause_over VALUES (2)')
  })
  await held
  expect(store.writes.paused).toBe(false)
  const rows = store.sqlite.query('SELECT n FROM pause_over ORDER BY rowid').all() as { n: number }[]
  expect(rows.map((row) => row.n)).toEqual([1, 2])
})
