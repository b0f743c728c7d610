import { and, desc, eq, sql } from 'drizzle-orm'
import { exec, many, one } from '../../db/query'
import type { PageKind } from '../../db/schema'
import {
  jsonTextPlaceholder,
  preparedFor,
  readTransaction,
  type Store,
  writeTransaction,
} from '../../db/store'
import { appPages, policies, policyVersions } from '../../db/tables'
import { AppError } from '../errors'
import type { Clock } from '../lib/clock'
import { ownedApp, ownedAppToChange } from './apps'

export interface SavedPage {
  data: Record<string, unknown>
  updatedAt: number
}

/** A saved page; NOT_FOUND until its first save (and for an app that is not the caller's). */
export function pageOf(store: Store, userId: string, appId: string, kind: PageKind): Promise<SavedPage> {
  return readTransaction(store, async (tx) => {
    await ownedApp(tx, userId, appId)
    const row = await one(
      tx
        .select()
        .from(appPages)
        .where(and(eq(appPages.appId, appId), eq(appPages.kind, kind))),
    )
    if (!row) throw new AppError('NOT_FOUND', 'This page has not been saved yet.')
    return { data: row.data, updatedAt: row.updatedAt }
  })
}

const ph = sql.placeholder
/**
 * Prepared once: building this upsert per save was the largest Drizzle cost of the mixed load.
 * The JSON goes in raw (already stringified): the column's encoder would not see a placeholder.
 */
const upsertPage = preparedFor((orm) =>
  orm
    .insert(appPages)
    .values({
      appId: ph('appId'),
      kind: ph('kind'),
      data: jsonTextPlaceholder(orm, 'data'),
      createdAt: ph('now'),
      updatedAt: ph('now'),
    })
    .onConflictDoUpdate({
      target: [appPages.appId, appPages.kind],
      set: { data: jsonTextPlaceholder(orm, 'data'), updatedAt: sql`${ph('now')}` },
    })
    .prepare(),
)

export function savePage(
  store: Store,
  clock: Clock,
  userId: string,
  appId: string,
  kind: PageKind,
  data: Record<string, unknown>,
): Promise<SavedPage> {
  return writeTransaction(store, async (tx) => {
    await ownedAppToChange(tx, userId, appId)
    const now = clock.now()
    await exec(upsertPage(tx), { appId, kind, data: JSON.stringify(data), now })
    return { data, updatedAt: now }
  })
}

export function policyOf(store: Store, userId: string, appId: string): Promise<SavedPage> {
  return readTransaction(store, async (tx) => {
    await ownedApp(tx, userId, appId)
    const row = await one(tx.select().from(policies).where(eq(policies.appId, appId)))
    if (!row) throw new AppError('NOT_FOUND', 'No privacy policy has been saved for this app yet.')
    return { data: row.data, updatedAt: row.updatedAt }
  })
}

export async function savePolicy(
  store: Store,
  clock: Clock,
  userId: string,
  appId: string,
  data: Record<string, unknown>,
) {
  const saved = await writeTransaction(store, async (tx) => {
    await ownedAppToChange(tx, userId, appId)
    const now = clock.now()
    await exec(
      tx
        .insert(policies)
        .values({ appId, data, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: policies.appId, set: { data, updatedAt: now } }),
    )
    return { data, updatedAt: now }
  })
  return { ...saved, warnings: policyWarnings(data) }
}

const filled = (v: unknown) => (Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null && v !== '')

/**
 * Recommended wizard answers that are missing: a policy without them still publishes, but App
 * Store review and users expect them.
 */
export function policyWarnings(data: Record<string, unknown>): string[] {
  const section = (name: string) => (data[name] ?? {}) as Record<string, unknown>
  const warnings: string[] = []
  const recommend = (sectionName: string, field: string, why: string) => {
    if (!filled(section(sectionName)[field])) warnings.push(`${sectionName}.${field} is recommended: ${why}`)
  }
  recommend('app-info', 'app_name', 'the policy names the app it covers')
  recommend('app-info', 'developer_name', 'the policy names who is responsible for the data')
  recommend('app-info', 'email', 'users need an address for privacy requests')
  recommend('data-collection', 'collects_data', 'say whether the app collects data at all')
  if (section('data-collection').collects_data === 'yes') {
    recommend('data-collection', 'data_types', 'list the kinds of data collected')
    recommend('data-collection', 'purposes', 'say what the data is used for')
  }
  const retains = section('data-retention').retains_data
  if (retains === 'yes' || retains === true)
    recommend('data-retention', 'retention_period', 'say how long data is kept')
  return warnings
}

/** Policy snapshots kept (and listed) per app (docs/spec/api-orbit.md). */
export const MAX_POLICY_VERSIONS = 20

/** Policy snapshots of an app, newest first, at most MAX_POLICY_VERSIONS. */
export function listPolicyVersions(store: Store, userId: string, appId: string) {
  return readTransaction(store, async (tx) => {
    await ownedApp(tx, userId, appId)
    return await many(
      tx
        .select()
        .from(policyVersions)
        .where(eq(policyVersions.appId, appId))
        .orderBy(desc(policyVersions.snapshotAt), desc(policyVersions.id))
        .limit(MAX_POLICY_VERSIONS),
    )
  })
}

export function policyVersion(store: Store, userId: string, appId: string, versionId: string) {
  return readTransaction(store, async (tx) => {
    await ownedApp(tx, userId, appId)
    const row = await one(
      tx
        .select()
        .from(policyVersions)
        .where(and(eq(policyVersions.appId, appId), eq(policyVersions.id, versionId))),
    )
    if (!row) throw new AppError('NOT_FOUND', 'No such policy version.')
    return row
  })
}
