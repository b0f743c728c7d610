import { and, eq, ne } from 'drizzle-orm'
import { isUniqueViolation } from '../../db/errors'
import { exec, one } from '../../db/query'
import type { DomainStatus } from '../../db/schema'
import { readTransaction, type Store, writeTransaction } from '../../db/store'
import { sites } from '../../db/tables'
import { CertificateError, type CertificateProvider } from '../certificates/port'
import type { CertificateStore } from '../certificates/store'
import { AppError, fieldError } from '../errors'
import type { Clock } from '../lib/clock'
import type { DnsResolver } from '../lib/dns'
import { errorFields, type Logger } from '../lib/logger'
import { ownedApp, ownedAppToChange, siteOf } from './apps'

export interface DomainDeps {
  store: Store
  clock: Clock
  logger: Logger
  resolver: DnsResolver
  certificates: CertificateProvider
  certificateStore: CertificateStore
  config: { publicUrl: string; publicIp: string | null; reservedDomains: readonly string[] }
}

export interface DnsInstruction {
  type: 'A' | 'CNAME'
  name: string
  value: string
}

export interface DomainState {
  domain: string
  status: DomainStatus
  dnsVerified: boolean
  sslProvisioned: boolean
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** A hostname an app may serve on: lower-cased, at least two labels, not an IP, not ours. */
/**
 * Names that can never be public: special-use and private-network suffixes (RFC 6761/6762/8375,
 * `.internal`, cloud metadata hosts), refused so that nobody claims a name that only resolves
 * inside the operator's network.
 */
const NON_PUBLIC_SUFFIXES = [
  'local',
  'localhost',
  'localdomain',
  'internal',
  'intranet',
  'lan',
  'home.arpa',
  'arpa',
  'invalid',
  'onion',
  'alt',
  // Cluster-internal names (Kubernetes, Consul, Docker, Azure/AWS/GCP private DNS).
  'svc',
  'cluster.local',
  'consul',
  'docker.internal',
  'compute.internal',
  'ec2.internal',
  'corp',
  'private',
]
/**
 * Public names that are documented to resolve to loopback or to the name of an address: wildcard
 * DNS services (which also take hex, `7f000001.nip.io`) and loopback aliases (`lvh.me`).
 */
const ADDRESS_ECHO_DOMAINS = [
  'nip.io',
  'sslip.io',
  'xip.io',
  'traefik.me',
  'localtest.me',
  'lvh.me',
  'vcap.me',
  'lacolhost.com',
  'fuf.me',
  'yoogle.com',
  'localhost.run',
  'ngrok.io',
  'nip.direct',
  'backname.io',
]
/**
 * An IPv4 address as a label of 8 hex digits (`7f000001.…`, as wildcard-DNS services read it).
 * Decision: a whole label only, with a digit: `build-1a2b3c4d` preview names stay allowed.
 */
const HEX_IPV4_LABEL = /^[0-9a-f]{8}$/
/** An IPv4 address inside a name, dotted or dashed (`1.2.3.4.nip.io`, `10-0-0-1.sslip.io`). */
const EMBEDDED_IPV4 = /(^|[.-])\d{1,3}([.-])\d{1,3}\2\d{1,3}\2\d{1,3}($|[.-])/

const isNameOrSubdomainOf = (domain: string, host: string) => domain === host || domain.endsWith(`.${host}`)

export function normaliseDomain(input: string, publicHost: string, reserved: readonly string[] = []): string {
  const domain = input.trim().toLowerCase().replace(/\.$/, '')
  const fail = (why: string) => fieldError(['domain'], why)
  if (domain.length === 0 || domain.length > 253) throw fail('must be a hostname of at most 253 characters')
  const labels = domain.split('.')
  if (labels.length < 2) throw fail('must be a full hostname with a dot, such as www.example.com')
  if (!labels.every((l) => LABEL.test(l)))
    throw fail('must be a valid hostname (letters, digits and inner hyphens; labels of 1–63)')
  if (/^\d+$/.test(labels.at(-1) as string)) throw fail('must be a hostname, not an IP address')
  if (isNameOrSubdomainOf(domain, publicHost) || reserved.some((host) => isNameOrSubdomainOf(domain, host)))
    throw fail('cannot be this server’s own hostname or one of its aliases')
  if (
    labels.includes('localhost') ||
    NON_PUBLIC_SUFFIXES.some((suffix) => isNameOrSubdomainOf(domain, suffix))
  )
    throw fail('must be a public hostname (not localhost, .local, .internal or another private name)')
  if (ADDRESS_ECHO_DOMAINS.some((echo) => isNameOrSubdomainOf(domain, echo)))
    throw fail(
      'must be a hostname of your own, not a wildcard-DNS or loopback alias (nip.io, sslip.io, lvh.me…)',
    )
  if (EMBEDDED_IPV4.test(domain) || labels.slice(0, -2).some((l) => HEX_IPV4_LABEL.test(l) && /\d/.test(l)))
    throw fail('must be a hostname, not one that embeds an IP address')
  return domain
}

export const publicHostOf = (publicUrl: string) => new URL(publicUrl).hostname.toLowerCase()

/** Where the domain must point: an A record to PUBLIC_IP when set, else a CNAME to our host. */
export function dnsInstructions(domain: string, config: DomainDeps['config']): DnsInstruction[] {
  return config.publicIp
    ? [{ type: 'A', name: domain, value: config.publicIp }]
    : [{ type: 'CNAME', name: domain, value: publicHostOf(config.publicUrl) }]
}

function stateOf(site: {
  customDomain: string | null
  domainStatus: DomainStatus | null
  domainDnsVerified: boolean
  domainSslProvisioned: boolean
}): DomainState {
  return {
    domain: site.customDomain as string,
    status: site.domainStatus ?? 'pending_dns',
    dnsVerified: site.domainDnsVerified,
    sslProvisioned: site.domainSslProvisioned,
  }
}

/**
 * Attaches a custom domain to an app (DOMAIN_IN_USE when another app holds it: the unique index
 * decides) and checks it at once: DNS, then the certificate.
 */
export async function setDomain(deps: DomainDeps, userId: string, appId: string, input: string) {
  const domain = normaliseDomain(input, publicHostOf(deps.config.publicUrl), deps.config.reservedDomains)
  let previous: string | null = null
  try {
    await writeTransaction(deps.store, async (tx) => {
      await ownedAppToChange(tx, userId, appId)
      const site = await siteOf(tx, appId)
      previous = site?.customDomain ?? null
      // Setting the same domain again changes nothing, unless its last order failed: then retry.
      if (previous === domain && site?.domainStatus !== 'error') return
      await exec(
        tx
          .update(sites)
          .set({
            customDomain: domain,
            domainStatus: 'pending_dns',
            domainDnsVerified: false,
            domainSslProvisioned: false,
            domainError: null,
            updatedAt: deps.clock.now(),
          })
          .where(eq(sites.appId, appId)),
      )
    })
  } catch (error) {
    if (isUniqueViolation(error, 'sites.custom_domain'))
      throw new AppError('DOMAIN_IN_USE', `The domain ${domain} is already used by another app.`)
    throw error
  }
  if (previous && previous !== domain) await deps.certificateStore.remove(previous)
  const state = await progressDomain(deps, appId)
  return { ...state, dnsInstructions: dnsInstructions(domain, deps.config) }
}

/** The domain's state, moving it forward when it is pending (DNS check, then certificate). */
export async function domainStatus(deps: DomainDeps, userId: string, appId: string): Promise<DomainState> {
  await readTransaction(deps.store, async (tx) => {
    await ownedApp(tx, userId, appId)
    if (!(await siteOf(tx, appId))?.customDomain)
      throw new AppError('NOT_FOUND', 'This app has no custom domain.')
  })
  return progressDomain(deps, appId)
}

export async function removeDomain(deps: DomainDeps, userId: string, appId: string) {
  const domain = await writeTransaction(deps.store, async (tx) => {
    await ownedAppToChange(tx, userId, appId)
    const current = (await siteOf(tx, appId))?.customDomain ?? null
    if (!current) throw new AppError('NOT_FOUND', 'This app has no custom domain.')
    await exec(
      tx
        .update(sites)
        .set({
          customDomain: null,
          domainStatus: null,
          domainDnsVerified: false,
          domainSslProvisioned: false,
          domainError: null,
          updatedAt: deps.clock.now(),
        })
        .where(eq(sites.appId, appId)),
    )
    return current
  })
  await deps.certificateStore.remove(domain)
}

/** Domains whose certificate is being ordered right now (one order per domain at a time). */
const ordering = new Set<string>()

async function progressDomain(deps: DomainDeps, appId: string): Promise<DomainState> {
  const siteNow = () => readTransaction(deps.store, (tx) => siteOf(tx, appId))
  let site = await siteNow()
  if (!site?.customDomain) throw new AppError('NOT_FOUND', 'This app has no custom domain.')
  const domain = site.customDomain
  const update = async (values: Partial<typeof sites.$inferInsert>) => {
    // Only if the app still has this domain (a concurrent PUT or DELETE wins). A write
    // transaction, so hosting caches everywhere drop the old state when it commits.
    await writeTransaction(deps.store, (tx) =>
      exec(
        tx
          .update(sites)
          .set({ ...values, updatedAt: deps.clock.now() })
          .where(
            and(eq(sites.appId, appId), eq(sites.customDomain, domain), ne(sites.domainStatus, 'active')),
          ),
      ),
    )
    site = await siteNow()
  }
  if (site.domainStatus === 'pending_dns') {
    if (!(await pointsHere(deps, domain))) return stateOf(site)
    await update({ domainStatus: 'pending_ssl', domainDnsVerified: true })
  }
  if (site?.domainStatus === 'pending_ssl' && !ordering.has(domain)) {
    ordering.add(domain)
    try {
      const issued = await deps.certificates.issue(domain)
      if (issued) await deps.certificateStore.save(domain, issued)
      await update({ domainStatus: 'active', domainSslProvisioned: true, domainError: null })
    } catch (error) {
      deps.logger.warn('certificate order failed', { domain, ...errorFields(error) })
      await update({
        domainStatus: 'error',
        domainError: error instanceof Error ? error.message.slice(0, 500) : String(error),
      })
      if (error instanceof CertificateError)
        throw new AppError(
          'CERT_CREATION_FAILED',
          `The certificate for ${domain} could not be issued; set the domain again to retry.`,
          { cause: error },
        )
      throw error
    } finally {
      ordering.delete(domain)
    }
  }
  return stateOf(site as NonNullable<typeof site>)
}

/** The domain reaches this server: a CNAME to our host, or an A record to PUBLIC_IP (or our host's). */
async function pointsHere(deps: DomainDeps, domain: string): Promise<boolean> {
  const ours = publicHostOf(deps.config.publicUrl)
  try {
    const cnames = (await deps.resolver.resolveCname(domain)).map((c) => c.toLowerCase().replace(/\.$/, ''))
    if (cnames.includes(ours)) return true
    const addresses = await deps.resolver.resolve4(domain)
    if (addresses.length === 0) return false
    const expected = deps.config.publicIp ? [deps.config.publicIp] : await deps.resolver.resolve4(ours)
    return addresses.some((a) => expected.includes(a))
  } catch (error) {
    deps.logger.warn('dns check failed', { domain, ...errorFields(error) })
    return false
  }
}

/** For a front proxy's on-demand TLS: is this domain attached to an app? */
/** Whether a verified (active) custom domain of some app is this one: the only kind that is served. */
export function isActiveDomain(store: Store, domain: string): Promise<boolean> {
  return readTransaction(
    store,
    async (tx) =>
      (await one(
        tx
          .select({ appId: sites.appId })
          .from(sites)
          .where(and(eq(sites.customDomain, domain.toLowerCase()), eq(sites.domainStatus, 'active'))),
      )) !== undefined,
  )
}
