import { getTableName, is } from 'drizzle-orm'
import { SQLiteTable } from 'drizzle-orm/sqlite-core'
import * as schema from './schema'

/**
 * The ownership registry: for every table that holds a user's data, how its rows are reached from
 * a user id, and where the export puts them. Export (services/export) and erasure
 * (services/deletion) are both driven by this list, and test/db/ownership.test.ts fails when a
 * table of the schema is neither here nor in SYSTEM_TABLES — so a new table cannot be added
 * without deciding how it is exported and erased.
 */

/** Export sections of a table in each dialect, or the reason it is deliberately not exported. */
export type ExportPlacement = { api: string; v1: string } | { notExported: string }

export interface OwnedTable {
  /** SQL table name. */
  name: string
  /**
   * WHERE clause selecting the user's rows; `?1` is the user id. Kept as SQL here (db/) so that
   * the services never spell out ownership themselves.
   */
  ownerWhere: string
  /** Columns that identify a row (what tests look for in an export). */
  idColumns: string[]
  /** WHERE clause selecting the rows of one app (`?1` = app id), for tables under an app. */
  appWhere?: string
  export: ExportPlacement
}

const USER_APPS = 'app_id IN (SELECT id FROM apps WHERE user_id = ?1)'
const USER_TEAMS = 'team_id IN (SELECT id FROM teams WHERE owner_user_id = ?1)'

/** IMPORTANT: in foreign-key-safe erase order — children before their parents. */
export const OWNED_TABLES: readonly OwnedTable[] = [
  {
    name: 'idempotency_keys',
    ownerWhere: 'principal = ?1',
    idColumns: ['principal', 'key'],
    export: {
      notExported:
        'stored replay bodies are internal state (and may repeat one-time secrets); erased with the account',
    },
  },
  {
    name: 'policy_versions',
    ownerWhere: USER_APPS,
    appWhere: 'app_id = ?1',
    idColumns: ['id'],
    export: { api: 'policyVersions', v1: 'policy_versions' },
  },
  {
    name: 'deploys',
    ownerWhere: USER_APPS,
    appWhere: 'app_id = ?1',
    idColumns: ['id'],
    export: { api: 'deployHistory', v1: 'deploys' },
  },
  {
    name: 'app_pages',
    ownerWhere: USER_APPS,
    appWhere: 'app_id = ?1',
    idColumns: ['app_id', 'kind'],
    export: { api: 'pages', v1: 'app_pages' },
  },
  {
    name: 'policies',
    ownerWhere: USER_APPS,
    appWhere: 'app_id = ?1',
    idColumns: ['app_id'],
    export: { api: 'policies', v1: 'policies' },
  },
  {
    name: 'sites',
    ownerWhere: USER_APPS,
    appWhere: 'app_id = ?1',
    idColumns: ['app_id'],
    export: { api: 'sites', v1: 'sites' },
  },
  {
    name: 'apps',
    ownerWhere: 'user_id = ?1',
    appWhere: 'id = ?1',
    idColumns: ['id'],
    export: { api: 'apps', v1: 'apps' },
  },
  {
    name: 'subscriptions',
    ownerWhere: 'user_id = ?1',
    idColumns: ['id'],
    export: { api: 'subscription', v1: 'subscription' },
  },
  {
    name: 'sandboxes',
    ownerWhere: `${USER_TEAMS} OR user_id = ?1`,
    idColumns: ['id'],
    export: { api: 'sandboxes', v1: 'sandboxes' },
  },
  {
    name: 'quota_usage',
    ownerWhere: USER_TEAMS,
    idColumns: ['team_id', 'usage_date'],
    export: { api: 'quotaUsage', v1: 'quota_usage' },
  },
  {
    name: 'api_keys',
    ownerWhere: 'user_id = ?1',
    idColumns: ['id'],
    export: { api: 'apiKeys', v1: 'api_keys' },
  },
  { name: 'teams', ownerWhere: 'owner_user_id = ?1', idColumns: ['id'], export: { api: 'team', v1: 'team' } },
  { name: 'users', ownerWhere: 'id = ?1', idColumns: ['id'], export: { api: 'user', v1: 'user' } },
]

/** Tables that belong to no user, and why. */
export const SYSTEM_TABLES: Readonly<Record<string, string>> = {
  quota_tiers: 'configuration shared by every team',
  account_deletions: 'PII-free deletion jobs and receipts; outlive the user on purpose',
  audit_events: 'PII-free account events (hashed user id)',
  stripe_events: 'webhook event ids for dedupe; no personal data',
  __drizzle_migrations: "the migrator's bookkeeping",
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
