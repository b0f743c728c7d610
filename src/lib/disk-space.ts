import { closeSync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Why `bytes` cannot be written in `directory` right now (ENOSPC, EROFS, EACCES…), or null when
 * they can: a probe file is written, synced and removed. Used by /readyz and by the storage
 * outage's recovery probe, so "ready" means a deploy or a database write would find room.
 */
export function writeProblemIn(directory: string, bytes = 64 * 1024): string | null {
  const probe = join(directory, `.custodian-probe-${process.pid}`)
  let fd: number | null = null
  try {
    // A directory not made yet is made, as the first deploy would make it.
    mkdirSync(directory, { recursive: true, mode: 0o700 })
    fd = openSync(probe, 'w', 0o600)
    const chunk = new Uint8Array(Math.min(bytes, 64 * 1024))
    for (let written = 0; written < bytes; written += chunk.length) writeSync(fd, chunk)
    fsyncSync(fd)
    return null
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === 'ENOSPC' ? 'no space left on device' : (code ?? String(error))
  } finally {
    if (fd !== null) closeSync(fd)
    try {
      rmSync(probe, { force: true })
    } catch {
      // A read-only filesystem refuses even the removal of a file that was never made.
    }
  }
}
