import { is, SQL, sql } from 'drizzle-orm'
import {
  type AnyPgColumn,
  bigint,
  boolean,
  customType,
  doublePrecision,
  foreignKey,
  index,
  type PgColumnBuilderBase,
  type PgTableWithColumns,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core'
import { getTableConfig, type SQLiteColumn, type SQLiteTable } from 'drizzle-orm/sqlite-core'
import * as sqlite from '../schema'

/**
 * The PostgreSQL schema, rendered from the SQLite one (db/schema/): one description per table,
 * so the two stores cannot drift apart — a column added to a SQLite table appears here, and
 * `bun run db:generate:pg` writes its migration (db/migrations-pg). Types map as:
 *
 * | SQLite (Drizzle)            | PostgreSQL         | why |
 * |-----------------------------|--------------------|-----|
 * | text                        | text               | |
 * | integer                     | bigint (number)    | epoch milliseconds outgrow int4 |
 * | integer, mode boolean       | boolean            | |
 * | real                        | double precision   | |
 * | text, mode json             | json               | keeps the stored text verbatim (jsonb would reorder keys, and exports compare bytes) |
 *
 * Names of tables, columns, indexes, primary keys and unique constraints are the SQLite ones;
 * test/db/dialect-parity.test.ts compares both migrated databases through their catalogues.
 */

// Rendered tables are loosely typed: rows keep the SQLite originals' types (db/rows.ts).
type AnyPgTable = PgTableWithColumns<any>

/** What rendering needs of a pg-core column builder, whatever its data type. */
interface Builder extends PgColumnBuilderBase {
  notNull(): Builder
  default(value: unknown): Builder
  unique(name?: string): Builder
  primaryKey(): Builder
}

/**
 * A `json` column whose values go to Bun's client as they are: Bun serialises a parameter of a
 * json column itself, so Drizzle's own json column — which stringifies first — stores a JSON
 * *string* holding the document (found in the first trial run). Read back, Bun has parsed it.
 */
const jsonValue = customType<{ data: unknown; driverData: unknown }>({
  dataType: () => 'json',
  toDriver: (value) => value,
  fromDriver: (value) => (typeof value === 'string' ? JSON.parse(value) : value),
})

function renderColumn(column: SQLiteColumn): Builder {
  const mode = (column as unknown as { config?: { mode?: string } }).config?.mode
  let builder: Builder
  switch (column.columnType) {
    case 'SQLiteText':
      builder = text(column.name) as unknown as Builder
      break
    case 'SQLiteTextJson':
      builder = jsonValue(column.name) as unknown as Builder
      break
    case 'SQLiteBoolean':
      builder = boolean(column.name) as unknown as Builder
      break
    case 'SQLiteInteger':
      builder = (mode === 'boolean'
        ? boolean(column.name)
        : bigint(column.name, { mode: 'number' })) as unknown as Builder
      break
    case 'SQLiteReal':
      builder = doublePrecision(column.name) as unknown as Builder
      break
    default:
      throw new Error(`no PostgreSQL rendering for ${column.columnType} (column ${column.name})`)
  }
  if (column.notNull) builder = builder.notNull()
  if (column.hasDefault && column.default !== undefined)
    builder = builder.default(is(column.default, SQL) ? sql.raw(sqlTextOf(column.default)) : column.default)
  if (column.isUnique) builder = builder.unique(column.uniqueName)
  return builder
}

/** The literal text of a default written as sql`...` in the SQLite schema ('{}' and the like). */
function sqlTextOf(value: SQL): string {
  return value.queryChunks
    .map((chunk) => {
      const parts = (chunk as { value?: unknown }).value
      if (Array.isArray(parts)) return parts.join('')
      throw new Error('a default in the SQLite schema uses a parameter; render it by hand')
    })
    .join('')
}

const rendered = new Map<string, AnyPgTable>()

function render(table: SQLiteTable): AnyPgTable {
  const config = getTableConfig(table)
  const done = rendered.get(config.name)
  if (done) return done
  const columns: Record<string, PgColumnBuilderBase> = {}
  const keyOf = new Map<string, string>()
  for (const [key, column] of Object.entries(table) as [string, unknown][]) {
    const c = column as SQLiteColumn
    if (c && typeof c === 'object' && 'columnType' in c && 'name' in c) keyOf.set(c.name, key)
  }
  for (const column of config.columns) {
    const builder = renderColumn(column)
    columns[keyOf.get(column.name) ?? column.name] = column.primary ? builder.primaryKey() : builder
  }
  const pg = pgTable(config.name, columns, (t) => {
    const col = (c: SQLiteColumn) => t[keyOf.get(c.name) ?? c.name] as AnyPgColumn
    return [
      ...config.primaryKeys.map((key) =>
        primaryKey({ columns: key.columns.map(col) as [AnyPgColumn, ...AnyPgColumn[]] }),
      ),
      ...config.indexes.map((ix) => {
        const on = (ix.config.unique ? uniqueIndex : index)(ix.config.name)
        const built = on.on(
          ...((ix.config.columns as SQLiteColumn[]).map(col) as [AnyPgColumn, ...AnyPgColumn[]]),
        )
        // A partial index's condition is written as plain SQL text in the SQLite schema, which
        // PostgreSQL reads the same way.
        return ix.config.where ? built.where(sql.raw(sqlTextOf(ix.config.where))) : built
      }),
      ...config.foreignKeys.map((fk) => {
        const reference = fk.reference()
        const target = render(reference.foreignTable)
        const targetKey = (c: SQLiteColumn) => {
          const key = Object.keys(target).find((k) => (target[k] as AnyPgColumn | undefined)?.name === c.name)
          return target[key as string] as AnyPgColumn
        }
        return foreignKey({
          name: fk.getName(),
          columns: reference.columns.map(col) as [AnyPgColumn, ...AnyPgColumn[]],
          foreignColumns: reference.foreignColumns.map(targetKey) as [AnyPgColumn, ...AnyPgColumn[]],
        })
      }),
    ]
  })
  rendered.set(config.name, pg)
  return pg
}

export const quotaTiers = render(sqlite.quotaTiers)
export const users = render(sqlite.users)
export const teams = render(sqlite.teams)
export const quotaUsage = render(sqlite.quotaUsage)
export const apiKeys = render(sqlite.apiKeys)
export const subscriptions = render(sqlite.subscriptions)
export const stripeEvents = render(sqlite.stripeEvents)
export const apps = render(sqlite.apps)
export const sites = render(sqlite.sites)
export const policies = render(sqlite.policies)
export const appPages = render(sqlite.appPages)
export const policyVersions = render(sqlite.policyVersions)
export const deploys = render(sqlite.deploys)
export const sandboxes = render(sqlite.sandboxes)
export const teamSandboxTotals = render(sqlite.teamSandboxTotals)
export const idempotencyKeys = render(sqlite.idempotencyKeys)
export const accountDeletions = render(sqlite.accountDeletions)
export const auditEvents = render(sqlite.auditEvents)
export const changeEpochs = render(sqlite.changeEpochs)
export const webhookEndpoints = render(sqlite.webhookEndpoints)
export const webhookEvents = render(sqlite.webhookEvents)
export const webhookDeliveries = render(sqlite.webhookDeliveries)
export const erasureProcessors = render(sqlite.erasureProcessors)
export const legalHolds = render(sqlite.legalHolds)
export const erasureCertificates = render(sqlite.erasureCertificates)
export const certificateKeys = render(sqlite.certificateKeys)
export const dataRequests = render(sqlite.dataRequests)
export const exportArchives = render(sqlite.exportArchives)
export const consoleSessions = render(sqlite.consoleSessions)
export const quotaRefusals = render(sqlite.quotaRefusals)

export { PG_ONLY_TABLES, storedFiles } from './files'
