import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FileStorage } from '../lib/storage'
import { writeFileAtomically } from '../lib/write-file'
import type { IssuedCertificate } from './port'

export interface SniEntry {
  serverName: string
  cert: string
  key: string
}

/** Issued certificates under STORAGE_DIR/certs/<domain>/, and the SNI table made from them. */
export class CertificateStore {
  private readonly listeners = new Set<() => void>()

  constructor(private readonly storage: FileStorage) {}

  async save(domain: string, issued: IssuedCertificate) {
    const dir = this.storage.certDir(domain)
    await writeFileAtomically(join(dir, 'privkey.pem'), issued.keyPem, 0o600)
    await writeFileAtomically(join(dir, 'fullchain.pem'), issued.certPem)
    this.changed()
  }

  async remove(domain: string) {
    await this.storage.removeCertificate(domain)
    this.changed()
  }

  /** Every stored certificate, for the TLS listener's SNI table. */
  entries(): SniEntry[] {
    const root = join(this.storage.root, 'certs')
    if (!existsSync(root)) return []
    return readdirSync(root)
      .filter(
        (domain) =>
          existsSync(join(root, domain, 'fullchain.pem')) && existsSync(join(root, domain, 'privkey.pem')),
      )
      .map((domain) => ({
        serverName: domain,
        cert: readFileSync(join(root, domain, 'fullchain.pem'), 'utf8'),
        key: readFileSync(join(root, domain, 'privkey.pem'), 'utf8'),
      }))
  }

  /** Called whenever certificates change (the TLS listener reloads its SNI table). */
  onChange(listener: () => void) {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private changed() {
    for (const listener of this.listeners) listener()
  }
}
