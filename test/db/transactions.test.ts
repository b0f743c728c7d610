import { afterEach, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore, type SqliteStore, truncateWal } from '../../db/sqlite/store'
import { readTransaction, type Store, writeTransaction } from '../../db/store'

const stores: SqliteStore[] = []
const dirs: string[] = []
function store(): SqliteStore {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-tx-'))
  dirs.push(dir)
  const s = openStore(join(dir, 't.db'))
  s.sqlite.exec('CREATE TABLE t (n INTEGER)')
  stores.push(s)
  return s
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
const tick = () => new Promise((resolve) => setTimeout(resolve, 1))
const rows = (s: SqliteStore) =>
  (s.sqlite.query('SELECT n FROM t ORDER BY rowid').all() as { n: number }[]).map((r) => r.n)

// The store port (db/store.ts): one connection per SQLite store, so a transaction whose function
// awaits must hold the connection until it ends, or another request's statements would run inside
// it — committed or rolled back with it.
describe('transactions on one connection', () => {
  it('run one at a time, in arrival order, even when they await', async () => {
    const s = store()
    const seen: string[] = []
    const first = writeTransaction(s, async (tx) => {
      tx.$client.run('INSERT INTO t VALUES (1)')
      seen.push('first: inserted')
      await tick() // another request's turn on the event loop
      tx.$client.run('INSERT INTO t VALUES (2)')
      seen.push('first: done')
    })
    const second = writeTransaction(s, (tx) => {
      seen.push('second')
      tx.$client.run('INSERT INTO t VALUES (3)')
    })
    const reader = readTransaction(s, (tx) => {
      seen.push('reader')
      return (tx.$client.query('SELECT count(*) AS n FROM t').get() as { n: number }).n
    })
    await Promise.all([first, second])
    expect(await reader).toBe(3)
    expect(seen).toEqual(['first: inserted', 'first: done', 'second', 'reader'])
    expect(rows(s)).toEqual([1, 2, 3])
  })

  it("roll back only their own writes: a failure after an await takes nobody else's with it", async () => {
    const s = store()
    const failing = writeTransaction(s, async (tx) => {
      tx.$client.run('INSERT INTO t VALUES (1)')
      await tick()
      throw new Error('refused')
    })
    const other = writeTransaction(s, (tx) => tx.$client.run('INSERT INTO t VALUES (2)'))
    await expect(failing).rejects.toThrow('refused')
    await other
    expect(rows(s)).toEqual([2])
    // The lock was handed on and freed: a later transaction runs at once.
    expect(s.lock.held).toBe(false)
    await writeTransaction(s, (tx) => tx.$client.run('INSERT INTO t VALUES (3)'))
    expect(rows(s)).toEqual([2, 3])
  })

  it('does not truncate the WAL under an open transaction, and does once it is over', async () => {
    const s = store()
    let release = () => {}
    const open = writeTransaction(s, async (tx) => {
      tx.$client.run('INSERT INTO t VALUES (1)')
      await new Promise<void>((resolve) => {
        release = resolve
      })
    })
    expect(truncateWal(s)).toBe(false)
    release()
    await open
    expect(truncateWal(s)).toBe(true)
    expect(rows(s)).toEqual([1])
  })
})
