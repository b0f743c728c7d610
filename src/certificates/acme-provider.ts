import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import https from 'node:https'
import { dirname } from 'node:path'
import type acme from 'acme-client'
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

export interface AcmeProviderOptions {
  directoryUrl: string
  email: string
  /** Where the ACME account key is kept (created on first use). */
  accountKeyPath: string
  /** Extra CA to trust for the directory (private or test CAs such as pebble). */
  caCertPath?: string | null
}

/**
 * Certificates from an ACME CA with the HTTP-01 challenge, answered by Custodian itself (the
 * domain already points here, that is what the DNS check established).
 */
export class AcmeCertificateProvider implements CertificateProvider {
  readonly name = 'acme' as const
  private readonly challenges = new Map<string, string>()
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

  challengeResponse(token: string) {
    return this.challenges.get(token)
  }

  private async accountKey(): Promise<Buffer> {
    const path = this.options.accountKeyPath
    if (existsSync(path)) return readFile(path)
    const key = await (await this.acme()).crypto.createPrivateEcdsaKey()
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, key, { mode: 0o600 })
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
          this.challenges.set(challenge.token, keyAuthorization)
        },
        challengeRemoveFn: async (_authz, challenge) => {
          this.challenges.delete(challenge.token)
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
