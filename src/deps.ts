import type { Store } from '../db/store'
import type { BillingHealth, BillingPort } from './billing/port'
import type { CertificateProvider } from './certificates/port'
import type { CertificateStore } from './certificates/store'
import type { Config } from './config'
import type { Clock } from './lib/clock'
import type { DnsResolver } from './lib/dns'
import type { KeyedLock } from './lib/keyed-lock'
import type { Logger } from './lib/logger'
import type { Metrics } from './lib/metrics'
import type { Outages } from './lib/outages'
import type { FileStorage } from './lib/storage'
import type { RateLimitStore } from './plugins/rate-limit/store'
import type { CredentialVerifier } from './services/credentials'
import type { DeletionFaults } from './services/deletion'
import type { SiteRenderer } from './services/deploy'
import type { ErasureLedger } from './services/erasure-ledger'

/** Everything the routes and plugins need, built once by createApp and passed down. */
export interface AppDeps {
  config: Config
  store: Store
  clock: Clock
  logger: Logger
  /** Prometheus metrics behind GET /metrics. */
  metrics: Metrics
  /** Open episodes of Redis, the database or the disk being unavailable (/readyz, one log line each). */
  outages: Outages
  verifier: CredentialVerifier
  rateLimitStore: RateLimitStore
  /** null when billing is disabled (no STRIPE_SECRET_KEY). */
  billing: BillingPort | null
  /** Whether Stripe accepted STRIPE_SECRET_KEY when the server started (readiness reports it). */
  billingHealth: BillingHealth
  /** Serialises each account's billing changes (seat counts). */
  billingLocks: KeyedLock
  storage: FileStorage
  /** Crash tests only: a hook after each recorded deletion step (see services/deletion.ts). */
  deletionFaults?: DeletionFaults
  /** Completed erasures, kept beside the database so a restored backup forgets them again. */
  erasureLedger: ErasureLedger
  /** Time-ordered 20-character app ids. */
  pushId: () => string
  /** Renders an app's pages for a deploy (tests swap in a failing one). */
  renderSite: SiteRenderer
  /** DNS lookups of the custom-domain check. */
  resolver: DnsResolver
  certificates: CertificateProvider
  certificateStore: CertificateStore
}
