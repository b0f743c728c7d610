import { rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'

const SAFE_SEGMENT = /^[A-Za-z0-9._-]{1,253}$/

/**
 * Where hosted files live under STORAGE_DIR: `apps/<appId>/` (icon, well-known files, rendered
 * versions) and `certs/<domain>/` (certificates). Deleting an app or erasing an account removes
 * those directories.
 */
export class FileStorage {
  readonly root: string

  constructor(root: string) {
    this.root = resolve(root)
  }

  appDir(appId: string): string {
    return join(this.root, 'apps', safe(appId))
  }

  certDir(domain: string): string {
    return join(this.root, 'certs', safe(domain))
  }

  /** Removes everything stored for an app; idempotent. */
  async removeAppFiles(appId: string) {
    await rm(this.appDir(appId), { recursive: true, force: true })
  }

  async removeCertificate(domain: string) {
    await rm(this.certDir(domain), { recursive: true, force: true })
  }
}

function safe(segment: string): string {
  // IMPORTANT: ids and hostnames become path segments; never let one climb out of STORAGE_DIR.
  if (!SAFE_SEGMENT.test(segment) || segment === '.' || segment === '..')
    throw new Error(`unsafe storage segment ${JSON.stringify(segment)}`)
  return segment
}
