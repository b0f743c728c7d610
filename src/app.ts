import { resolve } from 'node:path'
import { Elysia } from 'elysia'
import { migrate } from '../db/sqlite/migrate'
import { openStore } from '../db/sqlite/store'
import type { Store } from '../db/store'
import type { BillingPort } from './billing/port'
import { StripeBilling } from './billing/stripe-adapter'
import { AcmeCertificateProvider } from './certificates/acme-provider'
import { type CertificateProvider, noCertificateProvider } from './certificates/port'
import { CertificateStore } from './certificates/store'
import { type Config, loadConfig } from './config'
import type { AppDeps } from './deps'
import { loadCertificateSeed, useCertificateSeed } from './lib/certificate-key'
import { clientIp, type PeerSource } from './lib/client-ip'
import { type Clock, systemClock } from './lib/clock'
import { writeProblemIn } from './lib/disk-space'
import { type DnsResolver, systemResolver } from './lib/dns'
import { restoreFastFormats } from './lib/formats'
import { createPushIdGenerator } from './lib/ids'
import { KeyedLock } from './lib/keyed-lock'
import { createLogger, type Logger } from './lib/logger'
import { Metrics } from './lib/metrics'
import { Outages } from './lib/outages'
import { loadPseudonymKey, pseudonymOfPartition, usePseudonymKey } from './lib/pseudonym'
import { RouteIndex } from './lib/route-index'
import { FileStorage } from './lib/storage'
import { bearerAuthStep, resolveCredential } from './plugins/bearer-auth'
import { type BodyRule, bodyGuardStep } from './plugins/body-guard'
import { errorEnvelopePlugin } from './plugins/error-envelope'
import { idempotencyParts } from './plugins/idempotency'
import { observabilityPlugin } from './plugins/observability'
import { principalContext } from './plugins/principal'
import { type Identity, rateLimitStep } from './plugins/rate-limit'
import { MemoryRateLimitStore } from './plugins/rate-limit/memory-store'
import { RedisRateLimitStore } from './plugins/rate-limit/redis-store'
import type { RateLimitStore } from './plugins/rate-limit/store'
import { gateOf } from './plugins/request-gate'
import { requestIdStep } from './plugins/request-id'
import { routeOptions } from './plugins/route-options'
import { renderSite } from './render/site'
import { apiAccountRoutes, replayCompletedDeletion } from './routes/api/account'
import { apiKeyRoutes } from './routes/api/api-keys'
import { apiAppRoutes } from './routes/api/apps'
import { apiBillingRoutes } from './routes/api/billing'
import { apiDeployRoutes } from './routes/api/deploy'
import { apiDomainRoutes } from './routes/api/domain'
import { apiPageRoutes } from './routes/api/pages'
import { apiPrivacyManifestRoutes } from './routes/api/privacy-manifest'
import { apiSiteRoutes } from './routes/api/site'
import { stripeWebhookRoutes } from './routes/api/stripe-webhook'
import { consoleRoutes } from './routes/console'
import { consoleErrorPage } from './routes/console/context'
import { docsRoutes } from './routes/docs'
import { fileRoutes } from './routes/files'
import { customDomainStep, Hosting, hostingRoutes } from './routes/hosting'
import { systemRoutes } from './routes/system'
import { v1AccountRoutes } from './routes/v1/account'
import { v1AdminRoutes } from './routes/v1/admin'
import { v1DataRequestRoutes } from './routes/v1/data-requests'
import { v1DataRightsRoutes } from './routes/v1/data-rights'
import { exportArchiveRoutes } from './routes/v1/export-archives'
import { v1KeyRoutes } from './routes/v1/keys'
import { SANDBOX_CREATE_CLAIMS_WITHIN, v1SandboxRoutes } from './routes/v1/sandboxes'
import { v1WebhookRoutes } from './routes/v1/webhooks'
import { type Credential, createCredentialVerifier } from './services/credentials'
import type { DeletionFaults } from './services/deletion'
import type { SiteRenderer } from './services/deploy'
import { ErasureLedger } from './services/erasure-ledger'
import { ActivityTracker } from './services/retention'

/** Routes whose bodies are not JSON; everything else on /api and /v1 speaks JSON. */
const RAW_BODY_ROUTES: BodyRule[] = [
  { pattern: /^\/api\/webhooks\/stripe$/, raw: true },
  // Icons are refused above 2 MB with a 400 by the route itself (docs/spec/api-orbit.md); only bodies
  // past twice that are cut off here, unread.
  { pattern: /^\/api\/apps\/[^/]+\/site\/icon$/, raw: true, maxBytes: 4 * 1024 * 1024 },
  { pattern: /^\/api\/apps\/[^/]+\/well-known\/[^/]+$/, raw: true },
  // A processor's acknowledgement: whatever its client sends as a body is ignored (up to 1 KB).
  { pattern: /^\/v1\/erasure-acknowledgements\/[^/]+$/, raw: true, maxBytes: 1024 },
]

export interface DepsOptions {
  config?: Config
  store?: Store
  clock?: Clock
  logger?: Logger
  metrics?: Metrics
  rateLimitStore?: RateLimitStore
  billing?: BillingPort | null
  renderSite?: SiteRenderer
  resolver?: DnsResolver
  certificates?: CertificateProvider
  /** Crash tests only. */
  deletionFaults?: DeletionFaults
}

/** Builds every dependency once: open (and migrate) the database unless one is given. */
export function buildDeps(options: DepsOptions = {}): AppDeps {
  const config = options.config ?? loadConfig()
  const clock = options.clock ?? systemClock
  const logger = options.logger ?? createLogger(config.logLevel)
  const metrics = options.metrics ?? new Metrics()
  const store =
    options.store ??
    (() => {
      // PostgreSQL is opened asynchronously (server.ts, openDatabase) and passed in.
      if (config.databaseUrl) throw new Error('buildDeps: open the PostgreSQL store first (openDatabase)')
      const opened = openStore(config.databasePath)
      migrate(opened)
      return opened
    })()
  // A store that keeps the key (PostgreSQL, shared by every instance) hands it over when ready.
  if (!store.keepsPseudonymKey || config.pseudonymKey)
    usePseudonymKey(loadPseudonymKey(store.path, config.pseudonymKey))
  useCertificateSeed(loadCertificateSeed(store.path, config.certificateSigningKey))
  store.epochs.selfCheck = config.checkCaches
  const verifier = createCredentialVerifier({ store, clock, config, logger })
  const outages = new Outages(logger, metrics)
  // The storage that can fill up or turn read-only: the database file's directory and, where files
  // are kept on this machine, STORAGE_DIR (a store that keeps them is on its server's disk).
  const localFiles = store.sharedFiles === null ? resolve(config.storageDir) : null
  const storageDirectories = [store.fileDirectory, localFiles].filter((d): d is string => d !== null)
  if (store.fileDirectory) metrics.watchDiskSpace('database', store.fileDirectory)
  if (localFiles) metrics.watchDiskSpace('storage', localFiles)
  outages.watch('database', () => store.health().then(() => true))
  outages.watch('storage', async () =>
    storageDirectories.length
      ? storageDirectories.every((d) => writeProblemIn(d, 1024 * 1024) === null)
      : (await store.health()).writeProblem === null,
  )
  const rateLimitStore =
    options.rateLimitStore ??
    (config.redisUrl
      ? new RedisRateLimitStore(config.redisUrl, {
          timeoutMs: config.redisTimeoutMs,
          outages,
          onFallback: () => metrics.rateLimitFallback(),
          pseudonym: pseudonymOfPartition,
        })
      : new MemoryRateLimitStore())
  // Files the store keeps (PostgreSQL) are served alike by every instance (db/pg/files.ts).
  const storage = new FileStorage(config.storageDir, store.sharedFiles ?? undefined)
  const billing =
    options.billing !== undefined
      ? options.billing
      : config.stripe.secretKey
        ? new StripeBilling({
            secretKey: config.stripe.secretKey,
            apiBase: config.stripe.apiBase,
            timeoutMs: config.stripe.timeoutMs,
            onError: (kind) => metrics.stripeError(kind),
          })
        : null
  return {
    config,
    store,
    clock,
    logger,
    metrics,
    outages,
    verifier,
    rateLimitStore,
    billing,
    billingHealth: { state: billing ? 'unchecked' : 'disabled' },
    billingLocks: new KeyedLock(store.instanceLocks ?? undefined),
    storage,
    // Outside any backup of the database: beside its file; for a store without one, in this
    // instance's data directory (DATABASE_PATH's), holding every erasure of every instance
    // (docs/postgresql.md, "The erasure ledger").
    erasureLedger: new ErasureLedger(store.fileDirectory ? store.path : config.databasePath),
    deletionFaults: options.deletionFaults,
    pushId: createPushIdGenerator(clock),
    renderSite: options.renderSite ?? renderSite,
    resolver: options.resolver ?? systemResolver,
    certificates: options.certificates ?? certificateProviderFor(config, storage),
    certificateStore: new CertificateStore(storage),
  }
}

/** The configured certificate provider: `none` unless CERT_PROVIDER=acme. */
function certificateProviderFor(config: Config, storage: FileStorage): CertificateProvider {
  if (config.certProvider !== 'acme') return noCertificateProvider
  return new AcmeCertificateProvider({
    directoryUrl: config.acme.directoryUrl as string,
    email: config.acme.email as string,
    caCertPath: config.acme.caCertPath,
    storage,
  })
}

export interface PipelineOptions {
  /** Methods per path, for 405 (createApp fills it from the mounted routes). */
  routeIndex?: RouteIndex
  /** Benchmarks switch the idempotency plugin off to measure its cost. @default true */
  idempotency?: boolean
  hosting?: Hosting
}

/**
 * The plugins, in the fixed order of docs/spec/traffic.md: request id → error envelope → rate limit →
 * bearer auth → (body guard) → idempotency. Every route mounted on the result is covered.
 */
export function createPipeline(deps: AppDeps, options: PipelineOptions = {}) {
  const hosting = options.hosting ?? new Hosting(deps.store, deps.storage)
  const { config, logger, verifier, clock, store } = deps
  const identityOf = (credential: Credential, request: Request, server: PeerSource | null): Identity =>
    credential.ok
      ? { partition: `user:${credential.principal.userId}`, authenticated: true }
      : { partition: `ip:${clientIp(request, server, config.trustProxy)}`, authenticated: false }
  const identify = (request: Request, server: PeerSource | null): Identity | Promise<Identity> => {
    const credential = resolveCredential(request, verifier)
    return credential instanceof Promise
      ? credential.then((c) => identityOf(c, request, server))
      : identityOf(credential, request, server)
  }
  // IMPORTANT: normalize 'typebox', not Elysia's default "exact mirror". The default reshapes
  // input before validating it: a string sent for an object whose fields are all optional became
  // `{}`, and a string sent for a record became `{"0": …}` — invalid input silently accepted.
  // TypeBox normalisation validates types strictly and still strips unknown properties (from
  // bodies and from responses). The root's setting governs every route mounted on it.
  const idempotency =
    options.idempotency === false
      ? null
      : idempotencyParts({
          store,
          clock,
          onReplay: () => deps.metrics.idempotentReplay(),
          claimedWithin: new Set([SANDBOX_CREATE_CLAIMS_WITHIN]),
        })
  // Before routing, in the fixed order, as one hook (request-gate.ts: one await, not six).
  const activity = new ActivityTracker(deps)
  const gate = gateOf([
    requestIdStep,
    customDomainStep(deps, hosting),
    rateLimitStep({
      enabled: config.rateLimit.enabled,
      policies: config.rateLimit.policies,
      store: deps.rateLimitStore,
      clock,
      identify,
      exempt: ['/api/webhooks/stripe'],
      onRejected: (policy) => deps.metrics.rateLimitRejected(policy),
    }),
    bearerAuthStep({
      verifier,
      refusedReplay: replayCompletedDeletion(deps),
      onAdmitted: (principal) => activity.note(principal.userId),
    }),
    bodyGuardStep({ maxBytes: config.maxBodyBytes, rules: RAW_BODY_ROUTES }),
    ...(idempotency ? [idempotency.step] : []),
  ])
  return new Elysia({ name: 'custodian', normalize: 'typebox' })
    .onRequest(gate)
    .use(
      observabilityPlugin({
        logger,
        metrics: deps.metrics,
        routeIndex: options.routeIndex,
        logRequests: config.logLevel === 'debug' || config.logLevel === 'info',
      }),
    )
    .use(
      errorEnvelopePlugin({
        publicUrl: config.publicUrl,
        logger,
        allowedMethods: (path) => options.routeIndex?.methodsFor(path) ?? [],
        outages: deps.outages,
        pages: { prefix: '/console', render: consoleErrorPage },
      }),
    )
    .use(idempotency ? idempotency.plugin : new Elysia({ name: 'custodian/idempotency-off' }))
    .use(principalContext)
    .use(routeOptions)
}

/** The whole HTTP application: the pipeline, then the route modules. */
export function createApp(deps: AppDeps, options: Omit<PipelineOptions, 'routeIndex'> = {}) {
  restoreFastFormats()
  const routeIndex = new RouteIndex()
  const hosting = new Hosting(deps.store, deps.storage)
  // The docs routes ask the finished app for its document; a typed holder (not a reference to
  // `app` itself, which would make its type circular) hands it to them.
  const root: { app?: { handle(request: Request): Promise<Response> } } = {}
  const app = createPipeline(deps, { ...options, routeIndex, hosting })
    .use(docsRoutes(() => root.app as NonNullable<typeof root.app>))
    .use(systemRoutes(deps))
    .use(apiAccountRoutes(deps))
    .use(apiKeyRoutes(deps))
    .use(apiAppRoutes(deps))
    .use(apiSiteRoutes(deps))
    .use(apiPageRoutes(deps))
    .use(apiPrivacyManifestRoutes(deps))
    .use(apiDeployRoutes(deps))
    .use(apiBillingRoutes(deps))
    .use(stripeWebhookRoutes(deps))
    .use(apiDomainRoutes(deps))
    .use(hostingRoutes(deps, hosting))
    .use(fileRoutes(deps))
    .use(v1AccountRoutes(deps))
    .use(v1KeyRoutes(deps))
    .use(v1AdminRoutes(deps))
    .use(v1WebhookRoutes(deps))
    .use(v1DataRightsRoutes(deps))
    .use(v1DataRequestRoutes(deps))
    .use(exportArchiveRoutes(deps))
    .use(v1SandboxRoutes(deps))
    .use(consoleRoutes(deps))
  routeIndex.load(app.routes)
  root.app = app
  return app
}

export type App = ReturnType<typeof createApp>
