import { afterAll, expect, it } from 'bun:test'
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runToEnd, SOURCE_CLI } from '../support/binary'

// The database, its -wal/-shm and the data directory hold every account: readable by the server's
// user only, as backups, pseudonym.key and the erasure ledger already were.
const root = mkdtempSync(join(tmpdir(), 'custodian-modes-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8)

it('creates the data directory 0700 and the database, its WAL and shared memory 0600', async () => {
  const data = join(root, 'fresh', 'data')
  const env = { ...process.env, DATABASE_PATH: join(data, 'custodian.db'), STORAGE_DIR: join(data, 'files') }
  // A shell umask as permissive as most are.
  const run = await runToEnd(
    [
      'sh',
      '-c',
      `umask 022 && exec "$@"`,
      'sh',
      ...SOURCE_CLI,
      'user',
      'create',
      '--email',
      'modes@example.com',
      '--json',
    ],
    env,
    root,
  )
  expect(run.code).toBe(0)
  expect(mode(data)).toBe('700')
  for (const file of ['custodian.db', 'custodian.db-wal', 'custodian.db-shm', 'pseudonym.key'])
    if (existsSync(join(data, file)))
      expect({ file, mode: mode(join(data, file)) }).toEqual({ file, mode: '600' })
  expect(existsSync(join(data, 'custodian.db'))).toBe(true)
})

it('tightens a database file left world-readable by an older version', async () => {
  const data = join(root, 'old')
  const env = { ...process.env, DATABASE_PATH: join(data, 'custodian.db'), STORAGE_DIR: join(data, 'files') }
  expect((await runToEnd([...SOURCE_CLI, 'migrate'], env, root)).code).toBe(0)
  chmodSync(join(data, 'custodian.db'), 0o644)
  expect((await runToEnd([...SOURCE_CLI, 'migrate'], env, root)).code).toBe(0)
  expect(mode(join(data, 'custodian.db'))).toBe('600')
})
