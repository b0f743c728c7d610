import { afterEach } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '../../src/lib/logger'
import { createTestApp } from './harness'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/**
 * A server on a SQLite database file (not `:memory:`; whatever TEST_DATABASE says), its storage
 * directory and every log line it writes — what the byte-level erasure tests scan. DNS answers nothing (custom domains stay
 * pending). Removed after each test.
 */
export function fileBackedApp({
  sqlite = true,
  env = {},
}: {
  sqlite?: boolean
  env?: Record<string, string>
} = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-files-'))
  dirs.push(dir)
  const lines: string[] = []
  const databasePath = join(dir, 'custodian.db')
  const storageDir = join(dir, 'files')
  const t = createTestApp({
    sqlite,
    databasePath,
    env: { STORAGE_DIR: storageDir, RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'debug', ...env },
    logger: createLogger('debug', (line) => lines.push(line)),
  })
  t.deps.resolver = { resolve4: async () => [], resolveCname: async () => [] }
  return { t, databasePath, storageDir, logs: () => lines.join('') }
}
