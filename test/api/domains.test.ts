import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import type { CertificateProvider } from '../../src/certificates/port'
import type { DnsResolver } from '../../src/lib/dns'
import { startTlsListener } from '../../src/server'
import { freePort } from '../support/binary'
import { expectApiError } from '../support/envelopes'
import { createTestApp, type TestApp, type TestAppOptions, type TestUser } from '../support/harness'
import { type Pebble, startPebble } from '../support/pebble'
import { onPostgres } from '../support/test-database'

/** DNS answers the test controls. */
class StubResolver implements DnsResolver {
  readonly a = new Map<string, string[]>()
  readonly cname = new Map<string, string[]>()
  async resolve4(host: string) {
    return this.a.get(host) ?? []
  }
  async resolveCname(host: string) {
    return this.cname.get(host) ?? []
  }
}

/** The names in the certificate the TLS listener on `port` presents for `servername`. */
function presentedName(port: number, servername: string) {
  return new Promise<string>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate()
      resolve(String(cert.subjectaltname ?? cert.subject?.CN))
      socket.end()
    })
    socket.on('error', reject)
  })
}

function domainApp(
  options: TestAppOptions & { resolver?: StubResolver; certificates?: CertificateProvider } = {},
) {
  const t = createTestApp({
    ...options,
    env: {
      RATE_LIMIT_ENABLED: 'false',
      STORAGE_DIR: `/tmp/custodian-domains-${crypto.randomUUID()}`,
      ...options.env,
    },
  })
  const resolver = options.resolver ?? new StubResolver()
  t.deps.resolver = resolver
  if (options.certificates) t.deps.certificates = options.certificates
  return { t, resolver }
}
async function newApp(t: TestApp, u: TestUser, appName = 'Shop') {
  return (await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName } })).body.appId as string
}
const putDomain = (t: TestApp, u: TestUser, appId: string, domain: unknown) =>
  t.json('PUT', `/api/apps/${appId}/site/domain`, { token: u.apiKey, body: { domain } })
const status = (t: TestApp, u: TestUser, appId: string) =>
  t.json('GET', `/api/apps/${appId}/site/domain/status`, { token: u.apiKey })

describe('custom domains: setting one', () => {
  it('validates the hostname', async () => {
    const { t } = domainApp()
    const u = await t.createUser()
    const appId = await newApp(t, u)
    for (const domain of [
      '',
      'nodot',
      'a'.repeat(250) + '.com',
      '-lead.example.com',
      'trail-.example.com',
      'sp ace.example.com',
      'under_score.example.com',
      '192.168.1.10',
      'custodian.test',
      'app.localhost',
      'x'.repeat(64) + '.example.com',
      'ünïcode.example',
      42,
      // Wildcard DNS and loopback aliases, hex-encoded addresses, cluster-internal names.
      '7f000001.nip.io',
      'a9fea9fe.nip.io',
      'app.7f000001.example.com',
      '127.0.0.1.sslip.io',
      'lvh.me',
      'shop.lvh.me',
      'localtest.me',
      'kubernetes.default.svc',
      'api.default.svc.cluster.local',
      'vault.service.consul',
      'host.docker.internal',
    ]) {
      const r = await putDomain(t, u, appId, domain)
      expect({ domain, status: r.status }).toEqual({ domain, status: 400 })
      expect(expectApiError(r.body, 'VALIDATION_FAILED').details[0].path).toEqual(['domain'])
    }
  })

  it('answers pending_dns with a CNAME to this server, or an A record when PUBLIC_IP is set', async () => {
    const { t } = domainApp()
    const u = await t.createUser()
    const appId = await newApp(t, u)
    const r = await putDomain(t, u, appId, 'WWW.Shop-Example.com.')
    expect(r.status).toBe(200)
    expect(r.body).toEqual({
      domain: 'www.shop-example.com',
      status: 'pending_dns',
      dnsInstructions: [{ type: 'CNAME', name: 'www.shop-example.com', value: 'custodian.test' }],
    })
    const { t: withIp } = domainApp({ env: { PUBLIC_IP: '203.0.113.7' } })
    const v = await withIp.createUser()
    const other = await newApp(withIp, v)
    expect((await putDomain(withIp, v, other, 'shop.example.org')).body.dnsInstructions).toEqual([
      { type: 'A', name: 'shop.example.org', value: '203.0.113.7' },
    ])
    expect((await t.json('GET', `/api/apps/${appId}/site`, { token: u.apiKey })).body.customDomain).toBe(
      'www.shop-example.com',
    )
  })

  it('lets exactly one of two users take a domain at the same time (DOMAIN_IN_USE)', async () => {
    const { t } = domainApp()
    const [a, b] = [await t.createUser(), await t.createUser()]
    const [appA, appB] = [await newApp(t, a), await newApp(t, b)]
    const answers = await Promise.all([
      putDomain(t, a, appA, 'race.example.com'),
      putDomain(t, b, appB, 'race.example.com'),
    ])
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409])
    expectApiError((answers.find((r) => r.status === 409) as { body: unknown }).body, 'DOMAIN_IN_USE')
  })

  it('releases the domain on DELETE: free for others, no longer allowed for TLS', async () => {
    const { t, resolver } = domainApp()
    const [a, b] = [await t.createUser(), await t.createUser()]
    const [appA, appB] = [await newApp(t, a), await newApp(t, b)]
    await putDomain(t, a, appA, 'moving.example.com')
    // Pending: not yet verified, so no certificate may be issued for it.
    expect((await t.request('GET', '/internal/tls/allowed?domain=moving.example.com')).status).toBe(404)
    resolver.cname.set('moving.example.com', ['custodian.test'])
    expect((await status(t, a, appA)).body.status).toBe('active')
    expect((await t.request('GET', '/internal/tls/allowed?domain=moving.example.com')).status).toBe(200)
    expect((await t.request('GET', '/internal/tls/allowed?domain=MOVING.example.com')).status).toBe(200)
    expect((await putDomain(t, b, appB, 'moving.example.com')).status).toBe(409)
    expect((await t.request('DELETE', `/api/apps/${appA}/site/domain`, { token: a.apiKey })).status).toBe(204)
    expect((await t.request('GET', '/internal/tls/allowed?domain=moving.example.com')).status).toBe(404)
    expect((await putDomain(t, b, appB, 'moving.example.com')).status).toBe(200)
    expect((await t.json('DELETE', `/api/apps/${appA}/site/domain`, { token: a.apiKey })).status).toBe(404)
    expect((await t.request('GET', '/internal/tls/allowed?domain=never.example.com')).status).toBe(404)
    expect((await t.request('GET', '/internal/tls/allowed')).status).toBe(404)
  })

  it('is limited to 5 domain calls an hour', async () => {
    const { t } = domainApp({ env: { RATE_LIMIT_ENABLED: 'true' } })
    const u = await t.createUser()
    const appId = await newApp(t, u)
    for (let i = 0; i < 5; i++) expect((await putDomain(t, u, appId, `d${i}.example.com`)).status).toBe(200)
    expectApiError((await status(t, u, appId)).body, 'RATE_LIMITED')
  })
})

describe('custom domains: status without a certificate authority (TLS at the proxy)', () => {
  it('moves pending_dns → active once DNS points here', async () => {
    const { t, resolver } = domainApp()
    const u = await t.createUser()
    const appId = await newApp(t, u)
    await putDomain(t, u, appId, 'shop.example.net')
    expect((await status(t, u, appId)).body).toEqual({
      domain: 'shop.example.net',
      status: 'pending_dns',
      dnsVerified: false,
      sslProvisioned: false,
    })
    resolver.cname.set('shop.example.net', ['custodian.test.'])
    expect((await status(t, u, appId)).body).toEqual({
      domain: 'shop.example.net',
      status: 'active',
      dnsVerified: true,
      sslProvisioned: true,
    })
  })

  it('accepts an A record to PUBLIC_IP, and 404s without a domain', async () => {
    const { t, resolver } = domainApp({ env: { PUBLIC_IP: '198.51.100.4' } })
    const u = await t.createUser()
    const appId = await newApp(t, u)
    expectApiError((await status(t, u, appId)).body, 'NOT_FOUND')
    resolver.a.set('a.example.net', ['198.51.100.99'])
    await putDomain(t, u, appId, 'a.example.net')
    expect((await status(t, u, appId)).body.status).toBe('pending_dns')
    resolver.a.set('a.example.net', ['198.51.100.4'])
    expect((await status(t, u, appId)).body.status).toBe('active')
  })

  it('answers ACME HTTP-01 challenges on any host', async () => {
    const provider: CertificateProvider = {
      name: 'acme',
      issue: async () => null,
      challengeResponse: async (token) => (token === 'tok123' ? 'tok123.thumbprint' : undefined),
    }
    const { t } = domainApp({ certificates: provider })
    const r = await t.request('GET', '/.well-known/acme-challenge/tok123', {
      headers: { host: 'anything.example.com' },
    })
    expect(r.status).toBe(200)
    expect(await r.text()).toBe('tok123.thumbprint')
    expect((await t.request('GET', '/.well-known/acme-challenge/other')).status).toBe(404)
  })
})

// ACME against Debian's pebble (Let's Encrypt's test CA); .ci/run installs it.
let valid: Pebble | null = null
let refusing: Pebble | null = null
const pebbleInstalled = Bun.which('pebble') !== null
if (!pebbleInstalled && process.env.CI) throw new Error('pebble is required in CI (.ci/run installs it)')
// Without pebble (outside CI) these are reported as skipped, in bun's count.
describe.skipIf(!pebbleInstalled)(
  "with Let's Encrypt's test CA (skipped where pebble is not installed)",
  () => {
    beforeAll(async () => {
      valid = await startPebble({ alwaysValid: true })
      refusing = await startPebble({ alwaysValid: false })
    }, 30_000)
    afterAll(async () => {
      await valid?.stop()
      await refusing?.stop()
    })

    const acmeApp = (pebble: Pebble) => {
      const r = domainApp({
        env: {
          CERT_PROVIDER: 'acme',
          ACME_DIRECTORY_URL: pebble.directoryUrl,
          ACME_EMAIL: 'ops@example.test',
          ACME_CA_CERT: pebble.caCertPath,
        },
      })
      return r
    }

    describe('custom domains: certificates from an ACME CA', () => {
      it('moves pending_dns → pending_ssl → active with a certificate, served by SNI', async () => {
        const { t, resolver } = acmeApp(valid as Pebble)
        const u = await t.createUser()
        const appId = await newApp(t, u)
        expect((await putDomain(t, u, appId, 'shop.example.test')).body.status).toBe('pending_dns')
        resolver.cname.set('shop.example.test', ['custodian.test'])
        const r = await status(t, u, appId)
        expect(r.status).toBe(200)
        expect(r.body).toEqual({
          domain: 'shop.example.test',
          status: 'active',
          dnsVerified: true,
          sslProvisioned: true,
        })
        const certDir = t.deps.storage.certPath('shop.example.test')
        expect(await t.deps.storage.read(`${certDir}/fullchain.pem`)).not.toBeNull()
        expect(await t.deps.storage.read(`${certDir}/privkey.pem`)).not.toBeNull()
        // The TLS listener presents it for that name.
        const port = await freePort()
        const listener = startTlsListener(t.app, t.deps, port)
        await listener.ready()
        try {
          expect(await presentedName(port, 'shop.example.test')).toContain('shop.example.test')
        } finally {
          listener.stop()
        }
        // Erasing the account removes the certificate and the binding.
        expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
        expect(await t.deps.storage.exists(certDir)).toBe(false)
        expect((await t.request('GET', '/internal/tls/allowed?domain=shop.example.test')).status).toBe(404)
      })

      it('answers CERT_CREATION_FAILED and status error when the CA refuses; setting the domain again retries', async () => {
        const { t, resolver } = acmeApp(refusing as Pebble)
        const u = await t.createUser()
        const appId = await newApp(t, u)
        resolver.cname.set('refused.example.test', ['custodian.test'])
        const r = await putDomain(t, u, appId, 'refused.example.test')
        expect(r.status).toBe(500)
        expectApiError(r.body, 'CERT_CREATION_FAILED')
        expect((await status(t, u, appId)).body).toEqual({
          domain: 'refused.example.test',
          status: 'error',
          dnsVerified: true,
          sslProvisioned: false,
        })
        expect(await t.deps.storage.exists(t.deps.storage.certPath('refused.example.test'))).toBe(false)
        // Refused by the CA itself (its challenge could not be met), not a TLS or network mistake.
        const row = (await t.row(
          "SELECT domain_error AS error FROM sites WHERE custom_domain = 'refused.example.test'",
        )) as { error: string }
        expect(row.error).toMatch(/acme-challenge|authorization|invalid/i)
        expect(row.error).not.toMatch(/self.signed|unable to verify|certificate verify/i)
        expect((await putDomain(t, u, appId, 'refused.example.test')).status).toBe(500)
      })
    })
  },
)

// With several instances the certificates are rows every instance reads: one issued through
// another instance reaches this one's TLS listener at its next worker interval. (On SQLite the
// storage is this process's directory and every change goes through its own CertificateStore.)
if (onPostgres)
  describe('custom domains: TLS with several instances', () => {
    it('serves a certificate another instance stored, read at the next worker interval', async () => {
      const { t } = domainApp({ env: { WORKER_INTERVAL_SECONDS: '1' } })
      const dir = mkdtempSync(join(tmpdir(), 'custodian-other-cert-'))
      const made = Bun.spawnSync(
        ['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem')]
          .concat(['-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=other.example.test'])
          .concat(['-addext', 'subjectAltName=DNS:other.example.test']),
      )
      expect(made.exitCode).toBe(0)
      const port = await freePort()
      const listener = startTlsListener(t.app, t.deps, port)
      try {
        await listener.ready()
        // What another instance's CertificateStore.save writes: rows, and no event here.
        const storage = t.deps.storage
        await storage.write(
          storage.certPath('other.example.test', 'privkey.pem'),
          readFileSync(join(dir, 'key.pem')),
        )
        await storage.write(
          storage.certPath('other.example.test', 'fullchain.pem'),
          readFileSync(join(dir, 'cert.pem')),
        )
        let subject = ''
        for (let attempt = 0; attempt < 40 && !subject.includes('other.example.test'); attempt++) {
          await Bun.sleep(100)
          subject = await presentedName(port, 'other.example.test').catch(() => '')
        }
        expect(subject).toContain('other.example.test')
      } finally {
        listener.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
