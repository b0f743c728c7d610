import { afterEach, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli'
import { describeSqlite } from '../support/test-database'

const dirs: string[] = []
const savedEnv = { ...process.env }
afterEach(() => {
  process.env = { ...savedEnv }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const cli = async (argv: string[]) => {
  const lines: string[] = []
  const code = await main(argv, (line) => lines.push(line))
  return { code, output: lines.join('\n') }
}

describeSqlite('custodian requests', () => {
  it('records a request that arrived by post and lists it with its deadline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custodian-cli-requests-'))
    dirs.push(dir)
    Object.assign(process.env, {
      DATABASE_PATH: join(dir, 'custodian.db'),
      STORAGE_DIR: join(dir, 'files'),
      LOG_LEVEL: 'silent',
    })
    expect((await cli(['requests', 'list'])).output).toBe('No requests.')
    const created = await cli([
      'requests',
      'create',
      '--type',
      'access',
      '--email',
      'letter@example.org',
      '--json',
    ])
    expect(created.code).toBe(0)
    const request = JSON.parse(created.output) as {
      id: string
      status: string
      email: string
      due_at: string
    }
    expect(request).toMatchObject({ status: 'received', email: 'letter@example.org' })
    expect(Date.parse(request.due_at) - Date.now()).toBeGreaterThan(27 * 86_400_000)
    expect((await cli(['requests', 'list'])).output).toContain(request.id)
    expect((await cli(['requests', 'list', '--overdue'])).output).toBe('No overdue requests.')
    expect((await cli(['requests', 'create', '--type', 'gossip', '--email', 'a@b.c'])).code).toBe(1)
    expect((await cli(['requests', 'create', '--type', 'access'])).code).toBe(1)
  })
})
