import { afterAll, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runToEnd, SOURCE_CLI } from '../support/binary'

const root = mkdtempSync(join(tmpdir(), 'custodian-compact-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

it('custodian compact rewrites the database and says so (quiet with --json)', async () => {
  const env = { ...process.env, DATABASE_PATH: join(root, 'custodian.db'), STORAGE_DIR: join(root, 'files') }
  expect(
    (await runToEnd([...SOURCE_CLI, 'user', 'create', '--email', 'c@example.com'], env, root)).code,
  ).toBe(0)
  const plain = await runToEnd([...SOURCE_CLI, 'compact'], env, root)
  expect(plain.code).toBe(0)
  expect(plain.stdout).toContain('no freed bytes of erased accounts remain')
  const json = await runToEnd([...SOURCE_CLI, 'compact', '--json'], env, root)
  expect(json.stderr).toBe('')
  expect(JSON.parse(json.stdout)).toMatchObject({ compacted: ['(whole database)'] })
})
