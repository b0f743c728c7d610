import { existsSync, readFileSync } from 'node:fs'
import https from 'node:https'
import type acme from 'acme-client'
import type { FileStorage } from '../lib/storage'
import { CertificateError, type CertificateProvider, type IssuedCertificate } from './port'

/**
 * acme-client (with node-forge) is loaded on first use: evaluating it took longer than the rest of
 * the server's start-up, and most deployments never order a certificate.
 */
let acmeModule: Promise<typeof acme> | null = null
const loadAcme = () => {
  acmeModule ??= import('acme-client').then((m) => m.default)
  return acmeModule
}

const ACCOUNT_KEY_PATH = 'acme/account-key.pem'
const challengePath = (token: string) => `acme/challenges/${token}`

export interface AcmeProviderOptions {
  directoryUrl: string
  email: string
  /**
   * Where the ACME account key (created on first use) and the pending HTTP-01 challenges are kept:
   * with several instances the CA's request for a challenge may reach any of them.
   */
  storage: FileStorage
  /** Extra CA to trust for the directory (private or test CAs such as pebble). */
  caCertPath?: string | null
}

/**
 * Certificates from an ACME CA with the HTTP-01 challenge, answered by Custodian itself (the
 * domain already points here, that is what the DNS check established).
 */
export class AcmeCertificateProvider implements CertificateProvider {
  readonly name = 'acme' as const
  private client: Promise<acme.Client> | null = null

  constructor(private readonly options: AcmeProviderOptions) {}

  /** The ACME library, configured once: it speaks through its own axios instance, where the extra CA is trusted. */
  private async acme(): Promise<typeof acme> {
    const lib = await loadAcme()
    const ca = this.options.caCertPath
    if (ca && existsSync(ca) && !lib.axios.defaults.httpsAgent)
      lib.axios.defaults.httpsAgent = new https.Agent({ ca: readFileSync(ca) })
    return lib
  }

  async challengeResponse(token: string) {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(token)) return undefined
    const bytes = await this.options.storage.read(challengePath(token))
    return bytes ? new TextDecoder().decode(bytes) : undefined
  }

  private async accountKey(): Promise<Buffer> {
    const stored = await this.options.storage.read(ACCOUNT_KEY_PATH)
    if (stored) return Buffer.from(stored)
    const key = await (await this.acme()).crypto.createPrivateEcdsaKey()
    await this.options.storage.write(ACCOUNT_KEY_PATH, key, 0o600)
    return key
  }

  async issue(domain: string): Promise<IssuedCertificate> {
    try {
      const lib = await this.acme()
      this.client ??= this.accountKey().then(
        (accountKey) => new lib.Client({ directoryUrl: this.options.directoryUrl, accountKey }),
      )
      const client = await this.client
      const [key, csr] = await lib.crypto.createCsr({ commonName: domain, altNames: [domain] })
      const cert = await client.auto({
        csr,
        email: this.options.email,
        termsOfServiceAgreed: true,
        challengePriority: ['http-01'],
        // The DNS check already established that the domain reaches us.
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
          await this.options.storage.write(challengePath(challenge.token), keyAuthorization)
        },
        challengeRemoveFn: async (_authz, challenge) => {
          await this.options.storage.remove(challengePath(challenge.token))
        },
      })
      return { certPem: cert, keyPem: key.toString() }
    } catch (error) {
      this.client = null // a broken account or directory should not stick
      throw new CertificateError(
        `The certificate authority refused or failed the order: ${(error as Error).message}`.slice(0, 500),
      )
    }
  }
}
