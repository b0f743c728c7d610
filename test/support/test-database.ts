import { describe, it } from 'bun:test'
import { migratePg } from '../../db/pg/migrate'
import { createPgStore } from '../../db/pg/store'
import { migrate } from '../../db/sqlite/migrate'
import { openStore, type SqliteStore } from '../../db/sqlite/store'
import type { Store } from '../../db/store'
import { type PostgresCluster, startPostgres } from './postgres'

/**
 * Which store the HTTP tests run on: `bun test` uses SQLite (`:memory:` or a file, as a test
 * asks); `TEST_DATABASE=postgres bun test` runs the same files on PostgreSQL — one throwaway
 * cluster per test process (test/support/postgres.ts), a database migrated once as a template,
 * and a fresh database copied from it for every test app.
 */
export const TEST_DATABASE: 'sqlite' | 'postgres' =
  process.env.TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite'
export const onPostgres = TEST_DATABASE === 'postgres'

let cluster: Promise<{ cluster: PostgresCluster; host: string }> | null = null
let databases = 0
let stopCluster: (() => void) | null = null

/** Stops the run's PostgreSQL cluster, if one was started (test/support/preload.ts, after all tests). */
export function stopTestDatabase() {
  stopCluster?.()
  stopCluster = null
  cluster = null
}

function sharedCluster() {
  cluster ??= (async () => {
    const started = await startPostgres()
    stopCluster = () => started.stop()
    await started.sql`CREATE DATABASE custodian_template`
    const host = started.socketPath.replace(/\/\.s\.PGSQL\.\d+$/, '')
    const { SQL } = await import('bun')
    const template = new SQL({
      url: `postgres://custodian@localhost/custodian_template?host=${host}`,
      max: 1,
    })
    await migratePg(template)
    await template.close()
    return { cluster: started, host }
  })()
  return cluster
}

/** The store of a test about SQLite itself (its file, WAL, connection): refuses any other. */
export function sqliteOf(store: Store): SqliteStore {
  if (store.dialect !== 'sqlite') throw new Error('this test is about the SQLite store')
  return store as SqliteStore
}

/** A fresh, migrated store of the test run's kind (SQLite: `path`, default `:memory:`). */
export function testStore(path = ':memory:', kind: 'sqlite' | 'postgres' = TEST_DATABASE): Store {
  if (kind === 'sqlite') {
    const store = openStore(path)
    migrate(store)
    return store
  }
  const name = `t${process.pid}_${++databases}`
  let url = `postgres://custodian@localhost/${name}`
  return createPgStore(() => url, {
    max: 4,
    idleTimeout: 2,
    migrate: false,
    prepare: async () => {
      const { cluster: c, host } = await sharedCluster()
      await c.sql.unsafe(`CREATE DATABASE ${name} TEMPLATE custodian_template`)
      url = `${url}?host=${host}`
    },
  })
}

/**
 * Tests about SQLite itself (its file and WAL, backups by copy, the key file beside it, several
 * processes on one file) create their apps with `sqlite: true`. A process builds its queries for
 * one dialect (db/tables.ts), so under TEST_DATABASE=postgres they cannot run in the same process:
 * they are reported as skipped, with the reason in their name, and run in the SQLite pass.
 * PostgreSQL's counterparts are listed in docs/postgresql.md.
 */
export const SQLITE_ONLY = ' [SQLite only: runs in the SQLite pass]'
export const describeSqlite = (name: string, fn: () => void) =>
  onPostgres ? describe.skip(`${name}${SQLITE_ONLY}`, fn) : describe(name, fn)
export const itSqlite = (name: string, fn: () => Promise<void>, timeout?: number) =>
  onPostgres ? it.skip(`${name}${SQLITE_ONLY}`, fn, timeout) : it(name, fn, timeout)

/** Tests that start their own processes on their own PostgreSQL: one pass is enough. */
export const ONE_PASS = ' [runs in the SQLite pass: its server processes use a PostgreSQL of their own]'
