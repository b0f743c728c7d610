import { readdir, rm, rmdir } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { SharedFiles } from '../../db/store'
import { writeFileAtomically } from './write-file'

const SAFE_SEGMENT = /^[A-Za-z0-9._-]{1,253}$/

/**
 * Where stored files physically live. Paths are relative and `/`-separated
 * (`apps/<appId>/icons/icon-….png`). Two backends with one shape (db/store.ts, `SharedFiles`):
 * a directory (SQLite deployments, one instance) and, on PostgreSQL, the `stored_files` table every
 * instance reads (db/pg/files.ts).
 */
export interface FileBackend extends Omit<SharedFiles, 'shared'> {
  /** Whether every instance sees the same files (false: a local directory). */
  readonly shared: boolean
}

/**
 * Hosted files: `apps/<appId>/` (icon, well-known files, rendered versions), `certs/<domain>/`
 * (certificates) and `acme/` (the ACME account key and pending challenges). Deleting an app or
 * erasing an account removes its directory.
 */
export class FileStorage {
  /** STORAGE_DIR: where the local backend keeps files (unused by a shared one). */
  readonly root: string
  readonly backend: FileBackend

  constructor(root: string, backend?: FileBackend) {
    this.root = resolve(root)
    this.backend = backend ?? new LocalFiles(this.root)
  }

  appPath(appId: string, ...rest: string[]): string {
    return ['apps', safe(appId), ...rest].join('/')
  }

  certPath(domain: string, ...rest: string[]): string {
    return ['certs', safe(domain), ...rest].join('/')
  }

  write(path: string, bytes: Uint8Array | string, mode?: number) {
    return this.backend.write(path, bytes, mode)
  }

  read(path: string) {
    return this.backend.read(path)
  }

  body(path: string) {
    return this.backend.body(path)
  }

  remove(path: string) {
    return this.backend.remove(path)
  }

  list(path: string) {
    return this.backend.list(path)
  }

  async exists(path: string): Promise<boolean> {
    return (await this.backend.body(path)) !== null || (await this.backend.list(path)).length > 0
  }

  /** Removes everything stored for an app; idempotent. */
  removeAppFiles(appId: string) {
    return this.backend.remove(this.appPath(appId))
  }

  removeCertificate(domain: string) {
    return this.backend.remove(this.certPath(domain))
  }
}

/** Files in a directory (STORAGE_DIR), each written to a temporary name and renamed. */
export class LocalFiles implements FileBackend {
  readonly shared = false

  constructor(private readonly root: string) {}

  private full(path: string) {
    return join(this.root, ...path.split('/').map(safe))
  }

  write(path: string, bytes: Uint8Array | string, mode?: number) {
    return writeFileAtomically(this.full(path), bytes, mode)
  }

  async read(path: string) {
    const file = Bun.file(this.full(path))
    return (await file.exists()) ? file.bytes() : null
  }

  async body(path: string) {
    const file = Bun.file(this.full(path))
    return (await file.exists()) ? file : null
  }

  remove(path: string) {
    return rm(this.full(path), { recursive: true, force: true })
  }

  async list(path: string) {
    return readdir(this.full(path)).catch(() => [] as string[])
  }

  async removeEmptyDirectories(path: string, stop: string) {
    const root = this.full(stop)
    for (let current = this.full(path); current.startsWith(root); current = dirname(current)) {
      const entries = await readdir(current).catch(() => null)
      if (entries !== null) {
        if (entries.length > 0) return
        await rmdir(current).catch(() => undefined)
      }
      if (current === root) return
    }
  }
}

function safe(segment: string): string {
  // IMPORTANT: ids and hostnames become path segments; never let one climb out of STORAGE_DIR.
  if (!SAFE_SEGMENT.test(segment) || segment === '.' || segment === '..')
    throw new Error(`unsafe storage segment ${JSON.stringify(segment)}`)
  return segment
}
