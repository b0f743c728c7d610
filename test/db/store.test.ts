import { afterEach, describe, expect, it } from 'bun:test'
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { migrate as stockMigrate } from 'drizzle-orm/bun-sqlite/migrator'
import { migrate, pendingMigrations } from '../../db/sqlite/migrate'
import { openStore } from '../../db/sqlite/store'

const dirs: string[] = []
const tempDb = () => {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-store-'))
  dirs.push(dir)
  return join(dir, 'test.db')
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('the store', () => {
  it('opens a file database with the proven pragmas', () => {
    const store = openStore(tempDb())
    const pragma = (name: string) => Object.values(store.sqlite.query(`PRAGMA ${name}`).get() as object)[0]
    expect(pragma('journal_mode')).toBe('wal')
    expect(pragma('foreign_keys')).toBe(1)
    expect(pragma('synchronous')).toBe(1) // NORMAL
    expect(pragma('busy_timeout')).toBe(5000)
    store.close()
  })

  it("gives the shared change-epoch file the database file's permissions, as SQLite does for -shm", () => {
    // Any process that may write the database must be able to raise the epochs (change-epochs.ts).
    const path = tempDb()
    writeFileSync(path, '')
    chmodSync(path, 0o660)
    const store = openStore(path)
    expect(statSync(`${path}-epoch`).mode & 0o777).toBe(0o660)
    store.close()
  })

  it('applies the embedded migrations once and seeds the quota tiers', () => {
    const store = openStore(tempDb())
    expect(pendingMigrations(store)).toBeGreaterThan(0)
    expect(migrate(store).applied[0]).toBe('0000_init')
    expect(pendingMigrations(store)).toBe(0)
    expect(migrate(store).applied).toEqual([])
    const tiers = store.sqlite.query('SELECT id FROM quota_tiers ORDER BY id').all() as { id: string }[]
    expect(tiers.map((t) => t.id)).toEqual(expect.arrayContaining(['free', 'pro']))
    store.close()
  })

  it('recognises a database migrated by the stock drizzle migrator', () => {
    const store = openStore(tempDb())
    stockMigrate(store.orm, { migrationsFolder: join(import.meta.dir, '../../db/migrations') })
    expect(pendingMigrations(store)).toBe(0)
    expect(migrate(store).applied).toEqual([])
    store.close()
  })

  it('enforces foreign keys', () => {
    const store = openStore(':memory:')
    migrate(store)
    expect(() =>
      store.sqlite.run(
        "INSERT INTO teams (id, owner_user_id, name, slug, created_at, updated_at) VALUES ('t', 'nobody', 'n', 's', 1, 1)",
      ),
    ).toThrow(/FOREIGN KEY/)
    store.close()
  })
})
