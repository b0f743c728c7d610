import { type Static, Type as T } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { issueMessage, type ValueErrorLike } from './lib/validation-message'

/** Rate-limit policy names (docs/spec/traffic.md §2). */
export const POLICY_NAMES = [
  'default',
  'unauthenticated',
  'export',
  'apps-create',
  'keys-create',
  'domain',
  'deploy',
  'icon',
  'well-known',
  'account-delete',
] as const
export type PolicyName = (typeof POLICY_NAMES)[number]

export interface RatePolicy {
  name: PolicyName
  limit: number
  windowMs: number
}

const DEFAULT_POLICIES: Record<PolicyName, [limit: number, windowSeconds: number]> = {
  default: [300, 60],
  unauthenticated: [60, 60],
  export: [10, 3600],
  'apps-create': [5, 3600],
  'keys-create': [5, 3600],
  domain: [5, 3600],
  deploy: [10, 3600],
  icon: [10, 3600],
  'well-known': [5, 3600],
  'account-delete': [5, 3600],
}

const EnvSchema = T.Object({
  PORT: T.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: T.String({ minLength: 1, default: '127.0.0.1' }),
  DATABASE_PATH: T.String({ minLength: 1, default: './data/custodian.db' }),
  DATABASE_URL: T.Optional(T.String({ pattern: '^postgres(ql)?://' })),
  /** At least 2: an erasure may hold one connection of its own beside the pool (db/store.ts, onOwnConnection). */
  DATABASE_POOL_SIZE: T.Integer({ minimum: 2, maximum: 1000, default: 10 }),
  INSTANCES: T.Optional(T.Integer({ minimum: 1, maximum: 1000 })),
  PUBLIC_URL: T.Optional(T.String({ pattern: '^https?://[^\\s/]+(/[^\\s]*)?$' })),
  PUBLIC_IP: T.Optional(T.String({ minLength: 3 })),
  /** Comma-separated hostnames (and their subdomains) no app may claim as a custom domain. */
  RESERVED_DOMAINS: T.Optional(T.String()),
  STORAGE_DIR: T.String({ minLength: 1, default: './data/files' }),
  AUTH_JWT_SECRET: T.Optional(T.String({ minLength: 16 })),
  AUTH_JWKS_URL: T.Optional(T.String({ pattern: '^https?://' })),
  AUTH_JWT_AUDIENCE: T.String({ minLength: 1, default: 'authenticated' }),
  AUTH_JWT_ISSUER: T.Optional(T.String({ minLength: 1 })),
  STRIPE_SECRET_KEY: T.Optional(T.String({ minLength: 1 })),
  STRIPE_WEBHOOK_SECRET: T.Optional(T.String({ minLength: 1 })),
  STRIPE_API_BASE: T.Optional(T.String({ pattern: '^https?://[^\\s/]+' })),
  STRIPE_PRICE_MONTHLY: T.String({ minLength: 1, default: 'price_monthly' }),
  STRIPE_PRICE_YEARLY: T.String({ minLength: 1, default: 'price_yearly' }),
  STRIPE_TRIAL_DAYS: T.Integer({ minimum: 0, maximum: 730, default: 30 }),
  STRIPE_TIMEOUT_MS: T.Integer({ minimum: 50, maximum: 120_000, default: 10_000 }),
  DELETION_LEASE_SECONDS: T.Integer({ minimum: 1, maximum: 3600, default: 60 }),
  ACCOUNT_DELETION_GRACE_DAYS: T.Number({ minimum: 0, maximum: 3650, default: 30 }),
  TRUST_PROXY: T.Integer({ minimum: 0, maximum: 32, default: 0 }),
  MAX_BODY_BYTES: T.Integer({ minimum: 1024, maximum: 512 * 1024 * 1024, default: 1024 * 1024 }),
  RATE_LIMIT_ENABLED: T.Boolean({ default: true }),
  LOG_LEVEL: T.Union(
    [T.Literal('debug'), T.Literal('info'), T.Literal('warn'), T.Literal('error'), T.Literal('silent')],
    {
      default: 'info',
    },
  ),
  REDIS_URL: T.Optional(T.String({ pattern: '^rediss?://' })),
  REDIS_TIMEOUT_MS: T.Integer({ minimum: 1, maximum: 10_000, default: 50 }),
  /** Secret of the keyed user pseudonyms; by default generated into pseudonym.key beside the database. */
  /** Serve /metrics to any peer without a token (the default is loopback only). */
  METRICS_PUBLIC: T.Boolean({ default: false }),
  PSEUDONYM_KEY: T.Optional(T.String({ minLength: 32 })),
  /** When set, GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: T.Optional(T.String({ minLength: 16 })),
  CERT_PROVIDER: T.Union([T.Literal('none'), T.Literal('acme')], { default: 'none' }),
  ACME_DIRECTORY_URL: T.Optional(T.String({ pattern: '^https?://' })),
  ACME_EMAIL: T.Optional(T.String({ minLength: 3 })),
  /** PEM file of an extra CA to trust for the ACME directory (a private or test CA). */
  ACME_CA_CERT: T.Optional(T.String({ minLength: 1 })),
  /** Serve HTTPS on this port with the issued certificates, chosen by SNI. */
  TLS_PORT: T.Optional(T.Integer({ minimum: 1, maximum: 65535 })),
  WORKER_INTERVAL_SECONDS: T.Integer({ minimum: 1, maximum: 86400, default: 30 }),
  /** Comma-separated delays in seconds between a webhook delivery's attempts (default: 3 days of backoff). */
  WEBHOOK_RETRY_SECONDS: T.Optional(T.String({ pattern: '^\\s*\\d+(\\s*,\\s*\\d+)*\\s*$' })),
  WEBHOOK_TIMEOUT_SECONDS: T.Integer({ minimum: 1, maximum: 60, default: 10 }),
  WEBHOOKS_ALLOW_HTTP: T.Boolean({ default: false }),
  WEBHOOKS_ALLOW_PRIVATE_NETWORKS: T.Boolean({ default: false }),
  ERASURE_ACK_DEADLINE_DAYS: T.Number({ minimum: 0, maximum: 3650, default: 30 }),
  /** Seed (64 hex digits) of the Ed25519 key erasure certificates are signed with. */
  CERTIFICATE_SIGNING_KEY: T.Optional(T.String({ pattern: '^[0-9a-fA-F]{64}$' })),
  /** Off by default: days without an authenticated request after which an account is erased. */
  RETENTION_INACTIVE_DAYS: T.Optional(T.Integer({ minimum: 1, maximum: 36500 })),
  RETENTION_WARNING_DAYS: T.Integer({ minimum: 0, maximum: 3650, default: 30 }),
  /** How long an export archive's download link works. */
  EXPORT_LINK_TTL_HOURS: T.Integer({ minimum: 1, maximum: 8760, default: 72 }),
  /** Days an email-only data-subject request keeps the email once the case is closed. */
  REQUEST_RETENTION_DAYS: T.Integer({ minimum: 0, maximum: 3650, default: 30 }),
  /** Test instrument: every cache hit (credentials, account status) is checked against the database. */
  CHECK_CACHES: T.Boolean({ default: false }),
})
type Env = Static<typeof EnvSchema>

/** One line per variable, for `custodian help config` (the docs/operations.md's table says the same). */
export const ENV_HELP: Record<keyof Env, string> = {
  PORT: 'listen port',
  HOST: 'listen address (0.0.0.0 in the Docker image)',
  DATABASE_PATH: 'the SQLite file (:memory: allowed)',
  DATABASE_URL: 'PostgreSQL instead of SQLite (postgres://user:password@host:5432/db, or ?host=/socket/dir)',
  DATABASE_POOL_SIZE:
    'PostgreSQL connections of this instance; instances × this ≈ 2–4 × the database server’s cores',
  INSTANCES: 'how many instances share the store; with DATABASE_URL and no REDIS_URL declare 1',
  PUBLIC_URL: 'base of docUrls and hosted-site URLs (default http://localhost:$PORT)',
  PUBLIC_IP: 'custom domains: ask for an A record to this address instead of a CNAME',
  RESERVED_DOMAINS: 'comma-separated hostnames no app may claim as a custom domain',
  STORAGE_DIR: 'icons, rendered pages, certificates',
  AUTH_JWT_SECRET: 'HS256 secret of session JWTs (Supabase-compatible), at least 16 characters',
  AUTH_JWKS_URL: 'JWKS URL for RS256/ES256 session JWTs',
  AUTH_JWT_AUDIENCE: 'required aud of session JWTs',
  AUTH_JWT_ISSUER: 'required iss of session JWTs, when set',
  STRIPE_SECRET_KEY: 'enables billing',
  STRIPE_WEBHOOK_SECRET: 'verifies POST /api/webhooks/stripe',
  STRIPE_API_BASE: 'a Stripe-compatible endpoint (tests use an emulator)',
  STRIPE_PRICE_MONTHLY: 'price id of the monthly seat',
  STRIPE_PRICE_YEARLY: 'price id of the yearly seat',
  STRIPE_TRIAL_DAYS: "trial on an account's first subscription (0 disables)",
  STRIPE_TIMEOUT_MS: 'per-request timeout of Stripe calls',
  DELETION_LEASE_SECONDS: 'how long a running deletion holds its job',
  ACCOUNT_DELETION_GRACE_DAYS: '/v1 soft-delete grace period',
  TRUST_PROXY: 'X-Forwarded-For hops to trust for the client IP',
  MAX_BODY_BYTES: 'largest request body (413 above it)',
  RATE_LIMIT_ENABLED:
    'turn rate limiting off (benchmarks); RATE_LIMIT_<POLICY>=<limit>/<seconds> sets one policy',
  LOG_LEVEL: 'debug, info, warn, error or silent',
  REDIS_URL: 'shared rate-limit store for several instances',
  REDIS_TIMEOUT_MS:
    'longest a request waits for Redis; past it (or while Redis is down) limits are counted per instance',
  METRICS_TOKEN: 'when set, GET /metrics needs it as a bearer token',
  METRICS_PUBLIC: 'serve /metrics to any peer without a token (default: loopback only)',
  PSEUDONYM_KEY:
    'secret of the keyed user pseudonyms (default: generated into pseudonym.key beside the database)',
  CERT_PROVIDER: 'none (a proxy terminates TLS) or acme',
  ACME_DIRECTORY_URL: 'the ACME CA directory',
  ACME_EMAIL: 'ACME account email',
  ACME_CA_CERT: 'PEM of an extra CA to trust for the ACME directory',
  TLS_PORT: 'serve HTTPS for custom domains on this port',
  WORKER_INTERVAL_SECONDS: 'how often the in-process workers run',
  WEBHOOK_RETRY_SECONDS:
    'delays between webhook attempts, e.g. 5,300,1800 (default: 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h until 3 days have passed)',
  WEBHOOK_TIMEOUT_SECONDS: 'how long a webhook receiver has to answer',
  WEBHOOKS_ALLOW_HTTP: 'accept http:// webhook endpoints (https only by default)',
  WEBHOOKS_ALLOW_PRIVATE_NETWORKS:
    'accept webhook endpoints on loopback, private and link-local addresses (tests, private networks)',
  ERASURE_ACK_DEADLINE_DAYS: 'days a processor has to acknowledge an erasure before it is reported overdue',
  CERTIFICATE_SIGNING_KEY:
    'Ed25519 seed (64 hex digits) signing erasure certificates (default: certificate.key beside a SQLite database; derived from the server key on PostgreSQL)',
  RETENTION_INACTIVE_DAYS:
    'erase accounts with no authenticated request and no running sandbox for this many days (off when unset)',
  RETENTION_WARNING_DAYS: 'days between the inactivity warning and the scheduled deletion',
  EXPORT_LINK_TTL_HOURS: 'how long an export archive and its download link last',
  REQUEST_RETENTION_DAYS:
    'days an email-only data-subject request (no account) keeps the email after the case is closed',
  CHECK_CACHES: 'testing: check every cache hit against the database and fail on a difference (slower)',
}

/** Standard Webhooks' suggested schedule, stretched to 3 days: 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h. */
const DEFAULT_WEBHOOK_RETRY_SECONDS = [
  5, 300, 1800, 7200, 18_000, 36_000, 36_000, 36_000, 36_000, 36_000, 36_000, 36_000,
]

/** Each variable with its default, for `custodian help config`. */
export function configHelp(): string {
  const rows = Object.entries(EnvSchema.properties).map(([name, schema]) => {
    const fallback = (schema as { default?: unknown }).default
    return `  ${name.padEnd(28)} ${ENV_HELP[name as keyof Env]}${fallback !== undefined ? ` [default: ${fallback}]` : ''}`
  })
  return `Configuration comes from environment variables (a bad value stops the start, naming it):\n\n${rows.join('\n')}\n`
}

export interface Config {
  port: number
  host: string
  databasePath: string
  /** PostgreSQL instead of the SQLite file (null: SQLite at databasePath). */
  databaseUrl: string | null
  /** PostgreSQL connections of this instance (DATABASE_POOL_SIZE). */
  databasePoolSize: number
  /** How many instances share the store, when declared (INSTANCES). */
  instances: number | null
  publicUrl: string
  publicIp: string | null
  reservedDomains: string[]
  storageDir: string
  auth: { jwtSecret: string | null; jwksUrl: string | null; audience: string; issuer: string | null }
  stripe: {
    secretKey: string | null
    webhookSecret: string | null
    apiBase: string | null
    priceMonthly: string
    priceYearly: string
    trialDays: number
    timeoutMs: number
  }
  deletionGraceDays: number
  deletionLeaseMs: number
  trustProxy: number
  maxBodyBytes: number
  rateLimit: { enabled: boolean; policies: Record<PolicyName, RatePolicy> }
  logLevel: Env['LOG_LEVEL']
  redisUrl: string | null
  redisTimeoutMs: number
  metricsToken: string | null
  metricsPublic: boolean
  pseudonymKey: string | null
  certProvider: Env['CERT_PROVIDER']
  acme: { directoryUrl: string | null; email: string | null; caCertPath: string | null }
  tlsPort: number | null
  workerIntervalMs: number
  checkCaches: boolean
  webhooks: {
    /** Delays between attempts; a delivery fails after the last one. */
    retrySeconds: number[]
    timeoutMs: number
    allowHttp: boolean
    allowPrivate: boolean
    /** How long a processor has to acknowledge an erasure. */
    ackDeadlineMs: number
  }
  certificateSigningKey: string | null
  /** null: retention of inactive accounts is off. */
  retention: { inactiveMs: number; warningMs: number } | null
  exportLinkTtlMs: number
  requestRetentionMs: number
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Parses the environment. A bad value stops the start with a message naming the variable
 * (docs/spec/operations.md: "fail fast").
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = env[key]
    if (value !== undefined && value !== '') raw[key] = value
  }
  const withDefaults = Value.Default(EnvSchema, raw)
  const converted = Value.Convert(EnvSchema, withDefaults) as Record<string, unknown>
  for (const flag of ['RATE_LIMIT_ENABLED', 'METRICS_PUBLIC', 'CHECK_CACHES'] as const)
    if (typeof raw[flag] === 'string') converted[flag] = parseBool(flag, raw[flag] as string)
  refuseUnknownRateLimits(env)
  const firstError = Value.Errors(EnvSchema, converted).First()
  if (firstError) {
    const name = firstError.path.replace(/^\//, '')
    const value = env[name] ?? ''
    // IMPORTANT: never echo a secret back into logs; of a URL, only its scheme.
    const shown = /_URL$/.test(name)
      ? `<redacted${/^[a-z][a-z0-9+.-]*:/i.test(value) ? `, scheme "${value.split(':')[0]}:"` : ', no scheme'}>`
      : /SECRET|KEY|TOKEN/.test(name)
        ? '<redacted>'
        : JSON.stringify(value)
    throw new ConfigError(
      `Invalid configuration: ${name}=${shown} — ${FORMAT_HINTS[name] ?? issueMessage(firstError as ValueErrorLike)}`,
    )
  }
  const e = converted as Env
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'PUBLIC_URL'] as const) {
    const value = e[name]
    if (value === undefined || URL.canParse(value)) continue
    throw new ConfigError(
      `Invalid configuration: ${name}=<redacted, scheme "${value.split(':')[0]}:"> — is not a valid URL (a character such as @, : or / in the password must be percent-encoded); ${FORMAT_HINTS[name]}`,
    )
  }
  const port = e.PORT
  // With PostgreSQL, several instances may share the store: rate limits kept in one process's
  // memory would let each instance admit the whole limit. Refuse, unless one instance is declared.
  if (e.DATABASE_URL && !e.REDIS_URL && e.INSTANCES !== 1)
    throw new ConfigError(
      'Invalid configuration: DATABASE_URL (PostgreSQL) needs REDIS_URL, so that rate limits are shared by every instance — or declare INSTANCES=1 to run a single instance with limits kept in memory',
    )
  // Several processes on one SQLite file lose more than they gain (docs/operations.md, "Scaling"): measured
  // slower than one, and the in-process locks and caches would not be shared. Say so.
  if (!e.DATABASE_URL && e.INSTANCES !== undefined && e.INSTANCES !== 1)
    throw new ConfigError(
      `Invalid configuration: INSTANCES=${e.INSTANCES} — several instances need a shared store: set DATABASE_URL (PostgreSQL) and REDIS_URL; SQLite serves one instance`,
    )
  if (e.CERT_PROVIDER === 'acme' && (!e.ACME_DIRECTORY_URL || !e.ACME_EMAIL))
    throw new ConfigError('Invalid configuration: CERT_PROVIDER=acme needs ACME_DIRECTORY_URL and ACME_EMAIL')
  return {
    port,
    host: e.HOST,
    databasePath: e.DATABASE_PATH,
    databaseUrl: e.DATABASE_URL ?? null,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    instances: e.INSTANCES ?? null,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    publicIp: e.PUBLIC_IP ?? null,
    reservedDomains: (e.RESERVED_DOMAINS ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase().replace(/\.$/, ''))
      .filter((h) => h.length > 0),
    storageDir: e.STORAGE_DIR,
    auth: {
      jwtSecret: e.AUTH_JWT_SECRET ?? null,
      jwksUrl: e.AUTH_JWKS_URL ?? null,
      audience: e.AUTH_JWT_AUDIENCE,
      issuer: e.AUTH_JWT_ISSUER ?? null,
    },
    stripe: {
      secretKey: e.STRIPE_SECRET_KEY ?? null,
      webhookSecret: e.STRIPE_WEBHOOK_SECRET ?? null,
      apiBase: e.STRIPE_API_BASE ?? null,
      priceMonthly: e.STRIPE_PRICE_MONTHLY,
      priceYearly: e.STRIPE_PRICE_YEARLY,
      trialDays: e.STRIPE_TRIAL_DAYS,
      timeoutMs: e.STRIPE_TIMEOUT_MS,
    },
    deletionGraceDays: e.ACCOUNT_DELETION_GRACE_DAYS,
    deletionLeaseMs: e.DELETION_LEASE_SECONDS * 1000,
    trustProxy: e.TRUST_PROXY,
    maxBodyBytes: e.MAX_BODY_BYTES,
    rateLimit: { enabled: e.RATE_LIMIT_ENABLED, policies: parsePolicies(env) },
    logLevel: e.LOG_LEVEL,
    redisUrl: e.REDIS_URL ?? null,
    redisTimeoutMs: e.REDIS_TIMEOUT_MS,
    metricsToken: e.METRICS_TOKEN ?? null,
    metricsPublic: e.METRICS_PUBLIC,
    pseudonymKey: e.PSEUDONYM_KEY ?? null,
    certProvider: e.CERT_PROVIDER,
    acme: {
      directoryUrl: e.ACME_DIRECTORY_URL ?? null,
      email: e.ACME_EMAIL ?? null,
      caCertPath: e.ACME_CA_CERT ?? null,
    },
    tlsPort: e.TLS_PORT ?? null,
    workerIntervalMs: e.WORKER_INTERVAL_SECONDS * 1000,
    checkCaches: e.CHECK_CACHES,
    webhooks: {
      retrySeconds: e.WEBHOOK_RETRY_SECONDS
        ? e.WEBHOOK_RETRY_SECONDS.split(',').map((s) => Number(s.trim()))
        : DEFAULT_WEBHOOK_RETRY_SECONDS,
      timeoutMs: e.WEBHOOK_TIMEOUT_SECONDS * 1000,
      allowHttp: e.WEBHOOKS_ALLOW_HTTP,
      allowPrivate: e.WEBHOOKS_ALLOW_PRIVATE_NETWORKS,
      ackDeadlineMs: e.ERASURE_ACK_DEADLINE_DAYS * 86_400_000,
    },
    certificateSigningKey: e.CERTIFICATE_SIGNING_KEY ?? null,
    exportLinkTtlMs: e.EXPORT_LINK_TTL_HOURS * 3_600_000,
    requestRetentionMs: e.REQUEST_RETENTION_DAYS * 86_400_000,
    retention:
      e.RETENTION_INACTIVE_DAYS === undefined
        ? null
        : {
            inactiveMs: e.RETENTION_INACTIVE_DAYS * 86_400_000,
            warningMs: Math.min(e.RETENTION_WARNING_DAYS, e.RETENTION_INACTIVE_DAYS) * 86_400_000,
          },
  }
}

/** What a variable with a pattern must look like, said in words (TypeBox would say "the format"). */
const FORMAT_HINTS: Record<string, string> = {
  DATABASE_URL:
    'must be a PostgreSQL URL starting with postgres:// or postgresql://, e.g. postgres://user:password@db:5432/custodian (or ?host=/run/postgresql for a socket)',
  PUBLIC_URL:
    'must be the http:// or https:// URL clients reach this server at, with a host and no spaces, e.g. https://custodian.example.com',
  REDIS_URL: 'must be a Redis URL starting with redis:// or rediss://, e.g. redis://redis:6379',
  STRIPE_API_BASE: 'must be an http:// or https:// URL with a host',
  AUTH_JWKS_URL: 'must be an http:// or https:// URL',
  ACME_DIRECTORY_URL: 'must be an http:// or https:// URL',
}

/** A RATE_LIMIT_* variable that names no policy is a typo that would silently change nothing. */
function refuseUnknownRateLimits(env: Record<string, string | undefined>) {
  const known = new Set([
    'RATE_LIMIT_ENABLED',
    ...POLICY_NAMES.map((name) => `RATE_LIMIT_${name.toUpperCase().replace(/-/g, '_')}`),
  ])
  const unknown = Object.keys(env).filter((key) => key.startsWith('RATE_LIMIT_') && !known.has(key))
  if (unknown.length > 0)
    throw new ConfigError(
      `Invalid configuration: ${unknown.join(', ')} — no such rate-limit policy; the variables are ${[...known].join(', ')}`,
    )
}

function parseBool(name: string, value: string): boolean {
  if (/^(true|1|yes|on)$/i.test(value)) return true
  if (/^(false|0|no|off)$/i.test(value)) return false
  throw new ConfigError(`Invalid configuration: ${name}=${JSON.stringify(value)} — expected true or false`)
}

/** `RATE_LIMIT_<POLICY>=<limit>/<window seconds>`, policy upper-cased with hyphens as underscores. */
function parsePolicies(env: Record<string, string | undefined>): Record<PolicyName, RatePolicy> {
  const policies = {} as Record<PolicyName, RatePolicy>
  for (const name of POLICY_NAMES) {
    const variable = `RATE_LIMIT_${name.toUpperCase().replace(/-/g, '_')}`
    let [limit, windowSeconds] = DEFAULT_POLICIES[name]
    const override = env[variable]
    if (override !== undefined && override !== '') {
      const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(override)
      if (!match || Number(match[1]) < 1 || Number(match[2]) < 1)
        throw new ConfigError(
          `Invalid configuration: ${variable}=${JSON.stringify(override)} — expected <limit>/<window seconds>, e.g. 100/3600`,
        )
      limit = Number(match[1])
      windowSeconds = Number(match[2])
    }
    policies[name] = { name, limit, windowMs: windowSeconds * 1000 }
  }
  return policies
}

/** A configuration for tests and tools: defaults, then overrides. */
export function testConfig(overrides: Record<string, string | undefined> = {}): Config {
  return loadConfig({ DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', ...overrides })
}
