/**
 * What custom domains ask of a certificate authority. `none` (the default) is for installs whose
 * TLS is terminated by a front proxy (which can ask GET /internal/tls/allowed); `acme` obtains
 * certificates itself (Let's Encrypt or any ACME CA), answering HTTP-01 challenges.
 */

export interface IssuedCertificate {
  /** Leaf and chain, PEM. */
  certPem: string
  keyPem: string
}

export class CertificateError extends Error {
  override name = 'CertificateError'
}

export interface CertificateProvider {
  readonly name: 'none' | 'acme'
  /** A certificate for the domain; null when TLS is handled elsewhere. Throws CertificateError. */
  issue(domain: string): Promise<IssuedCertificate | null>
  /** The key authorization to answer at /.well-known/acme-challenge/<token>, if one is pending. */
  challengeResponse(token: string): Promise<string | undefined>
}

export const noCertificateProvider: CertificateProvider = {
  name: 'none',
  issue: async () => null,
  challengeResponse: async () => undefined,
}
