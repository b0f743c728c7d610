import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'

/**
 * The 32 random bytes (hex) kept in `path` beside the database, generated (0600) on first use.
 * 'wx': two processes starting at once cannot both create it; the loser reads the winner's.
 */
export function readOrCreateSecretFile(path: string): string {
  if (!existsSync(path)) {
    const generated = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')
    try {
      writeFileSync(path, `${generated}\n`, { flag: 'wx', mode: 0o600 })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    chmodSync(path, 0o600)
  }
  return readFileSync(path, 'utf8').trim()
}
