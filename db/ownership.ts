import { getTableName, is } from 'drizzle-orm'
import { SQLiteTable } from 'drizzle-orm/sqlite-core'
import * as schema from './schema'

/**
 * The ownership registry: for every table that holds a user's data, how its rows are reached from
 * a user id, and where the exports put them. Export (services/export.ts) and erasure
 * (services/deletion) are both driven by this list, and test/db/ownership.test.ts fails when a
 * table of the schema is neither here nor in SYSTEM_TABLES — so a new table cannot be added
 * without deciding how it is exported and erased.
 */

/** How a table's rows belong to a user. */
export type Owner =
  /** The users row itself. */
  | { via: 'self' }
  /** A column holding the user id. */
  | { via: 'user'; column: string }
  /** A column holding the id of one of the user's teams. */
  | { via: 'team'; column: string }
  /** A column holding the id of one of the user's apps. */
  | { via: 'app'; column: string }

/** Export sections of a table in each dialect, or the reason it is deliberately not exported. */
export type ExportPlacement = { api: string; v1: string } | { notExported: string }

export interface OwnedTable {
  table: SQLiteTable
  /** SQL table name. */
  name: string
  owner: Owner
  /** Columns that identify a row (what tests look for in an export). */
  idColumns: string[]
  /** Row order within one owner, served by an index (exports stream in this order). */
  orderBy: string
  export: ExportPlacement
}

const owned = (
  table: SQLiteTable,
  owner: Owner,
  idColumns: string[],
  orderBy: string,
  placement: ExportPlacement,
): OwnedTable => ({
  table,
  name: getTableName(table),
  owner,
  idColumns,
  orderBy,
  export: placement,
})

/** IMPORTANT: in foreign-key-safe erase order — children before their parents. */
export const OWNED_TABLES: readonly OwnedTable[] = [
  owned(schema.idempotencyKeys, { via: 'user', column: 'principal' }, ['principal', 'key'], 'key', {
    notExported:
      'stored replay bodies are internal state (and may repeat one-time secrets); erased with the account',
  }),
  owned(schema.policyVersions, { via: 'app', column: 'app_id' }, ['id'], 'snapshot_at, id', {
    api: 'policyVersions',
    v1: 'policy_versions',
  }),
  owned(schema.deploys, { via: 'app', column: 'app_id' }, ['id'], 'deployed_at, id', {
    api: 'deployHistory',
    v1: 'deploys',
  }),
  owned(schema.appPages, { via: 'app', column: 'app_id' }, ['app_id', 'kind'], 'kind', {
    api: 'pages',
    v1: 'app_pages',
  }),
  owned(schema.policies, { via: 'app', column: 'app_id' }, ['app_id'], 'app_id', {
    api: 'policies',
    v1: 'policies',
  }),
  owned(schema.sites, { via: 'app', column: 'app_id' }, ['app_id'], 'app_id', { api: 'sites', v1: 'sites' }),
  owned(schema.apps, { via: 'user', column: 'user_id' }, ['id'], 'created_at, id', {
    api: 'apps',
    v1: 'apps',
  }),
  owned(schema.subscriptions, { via: 'user', column: 'user_id' }, ['id'], 'id', {
    api: 'subscription',
    v1: 'subscription',
  }),
  // Sandboxes belong to the team (user_id is only who created them, always the owner today).
  owned(schema.sandboxes, { via: 'team', column: 'team_id' }, ['id'], 'created_at, id', {
    api: 'sandboxes',
    v1: 'sandboxes',
  }),
  owned(schema.quotaUsage, { via: 'team', column: 'team_id' }, ['team_id', 'usage_date'], 'usage_date', {
    api: 'quotaUsage',
    v1: 'quota_usage',
  }),
  owned(schema.teamSandboxTotals, { via: 'team', column: 'team_id' }, ['team_id'], 'team_id', {
    notExported: 'running totals derived from the sandboxes (which are exported); recomputed daily',
  }),
  owned(schema.apiKeys, { via: 'user', column: 'user_id' }, ['id'], 'created_at, id', {
    api: 'apiKeys',
    v1: 'api_keys',
  }),
  owned(schema.exportArchives, { via: 'user', column: 'user_id' }, ['id'], 'created_at, id', {
    notExported:
      'the export archives themselves (their status is at GET …/exports/{id}); erased with their files',
  }),
  owned(schema.consoleSessions, { via: 'user', column: 'user_id' }, ['id'], 'created_at, id', {
    notExported:
      "an operator's console sign-ins: hashes of session cookies (credentials); erased with the account",
  }),
  owned(schema.legalHolds, { via: 'user', column: 'user_id' }, ['user_id'], 'user_id', {
    api: 'legalHold',
    v1: 'legal_hold',
  }),
  owned(schema.teams, { via: 'user', column: 'owner_user_id' }, ['id'], 'created_at, id', {
    api: 'team',
    v1: 'team',
  }),
  owned(schema.users, { via: 'self' }, ['id'], 'id', { api: 'user', v1: 'user' }),
]

/** Tables that belong to no user, and why. */
export const SYSTEM_TABLES: Readonly<Record<string, string>> = {
  quota_tiers: 'configuration shared by every team',
  quota_refusals: 'refused sandbox creates counted per day and kind of limit; no team, no user',
  account_deletions: 'PII-free deletion jobs and receipts; outlive the user on purpose',
  audit_events: 'PII-free account events (hashed user id)',
  stripe_events: 'webhook event ids for dedupe; no personal data',
  change_epochs:
    'counters raised by triggers when credentials, account status or hosting change; no personal data',
  webhook_endpoints: "the operator's webhook configuration; secrets sealed",
  webhook_events:
    "the outbox: ids and what changed, never an email or a name; an erased account's events go once delivered",
  webhook_deliveries: 'attempts of events to endpoints: ids, status codes, times; no personal data',
  erasure_processors: 'which processors acknowledged an erasure: deletion and endpoint ids only',
  erasure_certificates: 'signed erasure certificates: pseudonym, ids, counts, Stripe steps; no personal data',
  certificate_keys: 'public keys certificates were signed with',
  data_requests:
    "data-subject requests: outlive the account on purpose, pseudonymised by its erasure (type, dates, outcome); an email-only request's email goes after REQUEST_RETENTION_DAYS",
  __drizzle_migrations: "the migrator's bookkeeping",
}

/** WHERE clause selecting every row of `table` that belongs to user `?1`. */
export function ownerWhere(table: OwnedTable): string {
  const o = table.owner
  switch (o.via) {
    case 'self':
      return 'id = ?1'
    case 'user':
      return `${o.column} = ?1`
    case 'team':
      return `${o.column} IN (SELECT id FROM teams WHERE owner_user_id = ?1)`
    case 'app':
      return `${o.column} IN (SELECT id FROM apps WHERE user_id = ?1)`
  }
}

export const ownedTable = (name: string): OwnedTable => {
  const entry = OWNED_TABLES.find((t) => t.name === name)
  if (!entry) throw new Error(`${name} is not an owned table`)
  return entry
}

/** Every table the Drizzle schema declares. */
export function schemaTableNames(): string[] {
  return (Object.values(schema) as unknown[])
    .filter((value): value is SQLiteTable => is(value, SQLiteTable))
    .map((table) => getTableName(table))
}

/**
 * Every table an erasure writes to: the owned ones, its receipts, the audit trail, the requests
 * it pseudonymises and (on PostgreSQL) the stored files. What the post-erasure VACUUM and `custodian compact` rewrite.
 */
export const ERASURE_TOUCHED_TABLES: readonly string[] = [
  ...OWNED_TABLES.map((t) => t.name),
  'account_deletions',
  'audit_events',
  // Requests are pseudonymised by the erasure: their earlier row versions held the user id.
  'data_requests',
  'stored_files',
]
