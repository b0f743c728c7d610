import { describe, expect, it } from 'bun:test'
import { createTestApp } from '../support/harness'
import { runScenario } from './scenario'

describe('the typed client generated from /docs/json', () => {
  it('drives a whole account: key, app, pages, deploy, export, sandbox, delete', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const u = await t.createUser()
    await runScenario(
      { baseUrl: 'http://localhost', fetch: (request) => t.app.handle(request) },
      { apiKey: u.apiKey, session: u.session },
    )
    expect(await t.row('SELECT count(*) AS n FROM apps')).toEqual({ n: 0 })
  })

  it('is generated from the current document (bun run openapi:types after API changes)', async () => {
    const dir = `${import.meta.dir}/../../.tmp`
    const proc = Bun.spawn(
      [
        'sh',
        '-c',
        `mkdir -p ${dir} && LOG_LEVEL=silent bun src/index.ts openapi > ${dir}/openapi-check.json && bun --preload ./test/contract/typescript5-alias.ts node_modules/openapi-typescript/bin/cli.js ${dir}/openapi-check.json -o ${dir}/openapi-check.d.ts`,
      ],
      { cwd: `${import.meta.dir}/../..`, stdout: 'pipe', stderr: 'pipe' },
    )
    expect(await proc.exited).toBe(0)
    const fresh = await Bun.file(`${dir}/openapi-check.d.ts`).text()
    const committed = await Bun.file(`${import.meta.dir}/openapi.d.ts`).text()
    expect(fresh === committed).toBe(true)
  }, 30_000)
})
