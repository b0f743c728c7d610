// A server process for benchmarks. Modes: `bare` (Bun.serve answering a fixed JSON, the ceiling)
// and `app` (Custodian on a temporary database with one user). Prints `READY {json}`.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeTransaction } from '../../../db/client'
import { buildDeps, createApp } from '../../../src/app'
import { loadConfig } from '../../../src/config'
import { createUserWithTeam } from '../../../src/services/accounts'
import { createKey } from '../../../src/services/keys'

const mode = process.argv[2]
const STATUS_JSON = {
  subscription: 'none',
  planType: null,
  appCount: 0,
  hasPaymentMethod: false,
  hasApps: false,
}

if (mode === 'bare') {
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    reusePort: false,
    fetch: () => Response.json(STATUS_JSON),
  })
  console.log(`READY ${JSON.stringify({ url: `http://127.0.0.1:${server.port}` })}`)
} else if (mode === 'app') {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-bench-'))
  const config = loadConfig({
    ...process.env,
    DATABASE_PATH: process.env.DATABASE_PATH ?? join(dir, 'bench.db'),
    STORAGE_DIR: join(dir, 'files'),
    PORT: '0',
  })
  const deps = buildDeps({ config })
  const app = createApp(deps, { idempotency: process.env.BENCH_IDEMPOTENCY !== 'off' })
  const { user, team } = writeTransaction(deps.store, (tx) =>
    createUserWithTeam(tx, deps.clock, { email: 'bench@example.com', emailVerified: true }),
  )
  const key = createKey(deps.store, deps.clock, {
    userId: user.id,
    teamId: team.id,
    kind: 'orbit',
    name: 'bench',
    scope: null,
    enforceLimit: false,
  })
  const runtime = createKey(deps.store, deps.clock, {
    userId: user.id,
    teamId: team.id,
    kind: 'runtime',
    name: 'bench',
    scope: 'sandboxes',
    enforceLimit: false,
  })
  app.listen({ port: 0, hostname: '127.0.0.1', reusePort: false })
  console.log(
    `READY ${JSON.stringify({ url: `http://127.0.0.1:${app.server?.port}`, apiKey: key.plaintext, runtimeKey: runtime.plaintext, userId: user.id, dir })}`,
  )
} else {
  console.error(`unknown mode ${mode}`)
  process.exit(2)
}
