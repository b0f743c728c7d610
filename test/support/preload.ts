import { afterAll } from 'bun:test'
import { stopTestDatabase } from './test-database'

// Loaded before every test file (bunfig.toml). Keeps tests hermetic: UTC, and no configuration
// leaking in from the developer's shell.
process.env.TZ = 'UTC'
for (const key of Object.keys(process.env)) {
  if (/^(STRIPE_|AUTH_|RATE_LIMIT_|REDIS_URL$|DATABASE_PATH$|PUBLIC_URL$|STORAGE_DIR$)/.test(key))
    delete process.env[key]
}
// Servers the tests start as processes check every cache hit (db/change-epochs.ts).
process.env.CHECK_CACHES = 'true'

// The throwaway PostgreSQL cluster of a TEST_DATABASE=postgres run goes with the run (bun test
// does not run process 'exit' handlers).
afterAll(() => stopTestDatabase(), 120_000)
