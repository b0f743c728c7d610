import type { FileStorage } from '../lib/storage'
import type { IssuedCertificate } from './port'

export interface SniEntry {
  serverName: string
  cert: string
  key: string
}

/** Issued certificates under `certs/<domain>/` in the file storage, and the SNI table made from them. */
export class CertificateStore {
  private readonly listeners = new Set<() => void>()

  constructor(private readonly storage: FileStorage) {}

  async save(domain: string, issued: IssuedCertificate) {
    await this.storage.write(this.storage.certPath(domain, 'privkey.pem'), issued.keyPem, 0o600)
    await this.storage.write(this.storage.certPath(domain, 'fullchain.pem'), issued.certPem)
    this.changed()
  }

  async remove(domain: string) {
    await this.storage.removeCertificate(domain)
    this.changed()
  }

  /** Every stored certificate, for the TLS listener's SNI table. */
  async entries(): Promise<SniEntry[]> {
    const entries: SniEntry[] = []
    const text = new TextDecoder()
    for (const domain of await this.storage.list('certs')) {
      const cert = await this.storage.read(this.storage.certPath(domain, 'fullchain.pem'))
      const key = await this.storage.read(this.storage.certPath(domain, 'privkey.pem'))
      if (cert && key) entries.push({ serverName: domain, cert: text.decode(cert), key: text.decode(key) })
    }
    return entries
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
