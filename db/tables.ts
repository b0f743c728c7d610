/**
 * The tables services build their queries with — SQLite's (db/schema) until a PostgreSQL store
 * is opened, then their PostgreSQL renderings (db/pg/schema.ts: same table and column names).
 * ES module bindings are live: `useTables` reassigns them for every importer. A process serves
 * one store, so the switch happens once, at startup, before any query is built (openPgStore),
 * and switching to the other dialect afterwards is refused. Types stay the SQLite ones: the
 * rendered tables decode to the same row shapes (db/rows.ts). Why not pass tables around: every
 * query of every service would name its store's tables, for a choice made once per process.
 */
import * as sqlite from './schema'

export type Dialect = 'sqlite' | 'postgres'

export let accountDeletions = sqlite.accountDeletions
export let apiKeys = sqlite.apiKeys
export let appPages = sqlite.appPages
export let apps = sqlite.apps
export let auditEvents = sqlite.auditEvents
export let changeEpochs = sqlite.changeEpochs
export let deploys = sqlite.deploys
export let idempotencyKeys = sqlite.idempotencyKeys
export let policies = sqlite.policies
export let policyVersions = sqlite.policyVersions
export let quotaTiers = sqlite.quotaTiers
export let quotaUsage = sqlite.quotaUsage
export let sandboxes = sqlite.sandboxes
export let sites = sqlite.sites
export let stripeEvents = sqlite.stripeEvents
export let subscriptions = sqlite.subscriptions
export let teamSandboxTotals = sqlite.teamSandboxTotals
export let teams = sqlite.teams
export let users = sqlite.users
export let webhookEndpoints = sqlite.webhookEndpoints
export let webhookEvents = sqlite.webhookEvents
export let webhookDeliveries = sqlite.webhookDeliveries
export let erasureProcessors = sqlite.erasureProcessors
export let legalHolds = sqlite.legalHolds
export let erasureCertificates = sqlite.erasureCertificates
export let certificateKeys = sqlite.certificateKeys
export let dataRequests = sqlite.dataRequests
export let exportArchives = sqlite.exportArchives
export let consoleSessions = sqlite.consoleSessions
export let quotaRefusals = sqlite.quotaRefusals

type Tables = { [K in (typeof NAMES)[number]]: (typeof sqlite)[K] }
const NAMES = [
  'accountDeletions',
  'apiKeys',
  'appPages',
  'apps',
  'auditEvents',
  'changeEpochs',
  'deploys',
  'idempotencyKeys',
  'policies',
  'policyVersions',
  'quotaTiers',
  'quotaUsage',
  'sandboxes',
  'sites',
  'stripeEvents',
  'subscriptions',
  'teamSandboxTotals',
  'teams',
  'users',
  'webhookEndpoints',
  'webhookEvents',
  'webhookDeliveries',
  'erasureProcessors',
  'legalHolds',
  'erasureCertificates',
  'certificateKeys',
  'dataRequests',
  'exportArchives',
  'consoleSessions',
  'quotaRefusals',
] as const

let current: Dialect = 'sqlite'

/** Which dialect's tables the bindings hold. */
export const tablesDialect = (): Dialect => current

/** Points every binding at `dialect`'s tables (PostgreSQL's are passed in: rendered on demand). */
export function useTables(dialect: Dialect, tables: Record<string, unknown> = sqlite) {
  if (dialect === current) return
  if (current !== 'sqlite' || dialect !== 'postgres')
    throw new Error(`this process already builds queries for ${current}; one process serves one store`)
  const t = tables as unknown as Tables
  accountDeletions = t.accountDeletions
  apiKeys = t.apiKeys
  appPages = t.appPages
  apps = t.apps
  auditEvents = t.auditEvents
  changeEpochs = t.changeEpochs
  deploys = t.deploys
  idempotencyKeys = t.idempotencyKeys
  policies = t.policies
  policyVersions = t.policyVersions
  quotaTiers = t.quotaTiers
  quotaUsage = t.quotaUsage
  sandboxes = t.sandboxes
  sites = t.sites
  stripeEvents = t.stripeEvents
  subscriptions = t.subscriptions
  teamSandboxTotals = t.teamSandboxTotals
  teams = t.teams
  users = t.users
  webhookEndpoints = t.webhookEndpoints
  webhookEvents = t.webhookEvents
  webhookDeliveries = t.webhookDeliveries
  erasureProcessors = t.erasureProcessors
  legalHolds = t.legalHolds
  erasureCertificates = t.erasureCertificates
  certificateKeys = t.certificateKeys
  dataRequests = t.dataRequests
  exportArchives = t.exportArchives
  consoleSessions = t.consoleSessions
  quotaRefusals = t.quotaRefusals
  current = dialect
}
