import { expect, it } from 'bun:test'
import { cli, cliDeployment } from '../support/cli'
import { describeSqlite } from '../support/test-database'

describeSqlite('custodian requests', () => {
  it('records a request that arrived by post and lists it with its deadline', async () => {
    cliDeployment()
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
