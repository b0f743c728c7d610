import { and, desc, eq, notInArray } from 'drizzle-orm'
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core'
import { exec, many, one } from '../../db/query'
import type { AppRow, SiteRow } from '../../db/rows'
import type { PageKind } from '../../db/schema'
import { readTransaction, type Store, type Tx, writeTransaction } from '../../db/store'
import { appPages, apps, deploys, policies, policyVersions, sites } from '../../db/tables'
import { AppError } from '../errors'
import { canonicalJson } from '../lib/canonical-json'
import { sha256Hex } from '../lib/crypto'
import { uuidv7 } from '../lib/ids'
import { errorFields } from '../lib/logger'
import type { FileStorage } from '../lib/storage'
import { PAGE_FILES, type PageName, type RenderedSite, type RenderInput } from '../render/site'
import { appIsLive, discardAppOutput } from './app-files'
import { ownedApp, ownedAppToChange } from './apps'
import { emitEvent } from './events'
import { MAX_POLICY_VERSIONS } from './pages'
import { requireSeatable, type SeatDeps, withNewSeat } from './seats'

/** Deploy history and policy snapshots kept per app (docs/spec/api-orbit.md). */
export const MAX_DEPLOYS = 50
/** Rendered versions kept on disk: the live one and the one before it. */
const VERSIONS_KEPT = 2

export type SiteRenderer = (input: RenderInput) => RenderedSite

/** Seats are deployed apps: the deploy needs the billing side of the account too. */
export interface DeployDeps extends SeatDeps {
  storage: FileStorage
  renderSite: SiteRenderer
}

export interface DeployResult {
  url: string
  customDomainUrl?: string
  deployedAt: number
  pages: Record<PageName, string | null>
}

export interface VersionManifest {
  files: Record<string, { contentType: string; etag: string }>
}

export const siteUrl = (publicUrl: string, slug: string) => `${publicUrl}/sites/${slug}/`
export const versionDir = (storage: FileStorage, appId: string, version: string) =>
  storage.appPath(appId, 'versions', version)

function pageUrls(base: string, published: readonly PageName[]): Record<PageName, string | null> {
  const pages = {} as Record<PageName, string | null>
  for (const name of Object.keys(PAGE_FILES) as PageName[])
    pages[name] = published.includes(name) ? base + PAGE_FILES[name].path : null
  return pages
}

function answer(
  deps: DeployDeps,
  app: AppRow,
  site: SiteRow,
  deployedAt: number,
  published: readonly PageName[],
): DeployResult {
  const url = siteUrl(deps.config.publicUrl, app.slug)
  return {
    url,
    ...(site.customDomain && site.domainStatus === 'active'
      ? { customDomainUrl: `https://${site.customDomain}/` }
      : {}),
    deployedAt,
    pages: pageUrls(url, published),
  }
}

function loadInput(store: Store, userId: string, appId: string): Promise<RenderInput> {
  return readTransaction(store, async (tx) => {
    const app = await ownedApp(tx, userId, appId)
    const site = await one(tx.select().from(sites).where(eq(sites.appId, appId)))
    if (!site) throw new Error(`app ${appId} has no site row`)
    const policy = (await one(tx.select().from(policies).where(eq(policies.appId, appId))))?.data ?? null
    const pages: RenderInput['pages'] = {}
    for (const row of await many(tx.select().from(appPages).where(eq(appPages.appId, appId))))
      pages[row.kind as PageKind] = row.data
    return { app, site, policy, pages }
  })
}

/**
 * Publishes an app: renders every configured page from the saved configuration, writes them to
 * a new version directory, then switches the live version in one transaction that also records
 * the deploy history and a policy snapshot. A failed render or write leaves the previous version
 * live (DEPLOY_FAILED). A deploy with nothing changed is a no-op answering the live deploy.
 */
export async function deployApp(
  deps: DeployDeps,
  userId: string,
  appId: string,
  requestKey: string,
): Promise<DeployResult> {
  const input = await loadInput(deps.store, userId, appId)
  const { app, site } = input
  let rendered: RenderedSite
  try {
    rendered = deps.renderSite(input)
  } catch (error) {
    deps.logger.error('deploy render failed', { appId, ...errorFields(error) })
    throw new AppError('DEPLOY_FAILED', 'Rendering the pages failed; the previous version stays live.', {
      cause: error,
    })
  }
  const hash = sha256Hex(canonicalJson({ slug: app.slug, files: rendered.files }))
  if (app.deployed && app.deployedAt !== null && site.publishedHash === hash && site.publishedVersion)
    return answer(deps, app, site, app.deployedAt, rendered.published)

  await requireSeatable(deps, userId, app)

  const version = uuidv7(deps.clock)
  const dir = versionDir(deps.storage, appId, version)
  try {
    const manifest: VersionManifest = { files: {} }
    for (const [name, file] of Object.entries(rendered.files)) {
      await deps.storage.write(`${dir}/${name}`, file.body)
      manifest.files[name] = { contentType: file.contentType, etag: `"${sha256Hex(file.body).slice(0, 24)}"` }
    }
    await deps.storage.write(`${dir}/manifest.json`, JSON.stringify(manifest))
  } catch (error) {
    // The erasure (or the app's deletion) may have removed the directory under this write.
    if (!(await appIsLive(deps.store, userId, appId)))
      await discardAppOutput(deps, appId, [dir], new AppError('NOT_FOUND', 'No such app.'))
    await deps.storage.remove(dir)
    deps.logger.error('deploy write failed', { appId, ...errorFields(error) })
    throw new AppError('DEPLOY_FAILED', 'Writing the pages failed; the previous version stays live.', {
      cause: error,
    })
  }

  const url = siteUrl(deps.config.publicUrl, app.slug)
  // A new app takes its seat at Stripe first; the switch below records it in the same transaction.
  const publish = (recordSeat: (tx: Tx) => Promise<void>) =>
    writeTransaction(deps.store, async (tx) => {
      // Still live? An erasure may have begun while the pages were written (app-files.ts).
      await ownedAppToChange(tx, userId, appId)
      const now = deps.clock.now()
      await recordSeat(tx)
      const updatedSite = (await one(
        tx
          .update(sites)
          .set({ publishedVersion: version, publishedHash: hash })
          .where(eq(sites.appId, appId))
          .returning(),
      )) as SiteRow
      const updatedApp = (await one(
        tx
          .update(apps)
          .set({ deployed: true, deployedAt: now, updatedAt: now })
          .where(eq(apps.id, appId))
          .returning(),
      )) as AppRow
      const deployId = uuidv7(deps.clock)
      await exec(
        tx.insert(deploys).values({ id: deployId, appId, deployedAt: now, url, pages: rendered.published }),
      )
      await keepNewest(tx, deploys, deploys.deployedAt, appId, MAX_DEPLOYS)
      await emitEvent(tx, deps.clock, 'app.deployed', userId, {
        user_id: userId,
        app_id: appId,
        deploy_id: deployId,
      })
      if (input.policy) {
        await exec(
          tx.insert(policyVersions).values({
            id: uuidv7(deps.clock),
            appId,
            snapshotAt: now,
            trigger: 'deploy',
            appName: updatedApp.appName,
            policyData: input.policy,
          }),
        )
        await keepNewest(tx, policyVersions, policyVersions.snapshotAt, appId, MAX_POLICY_VERSIONS)
      }
      return { app: updatedApp, site: updatedSite, now }
    })
  let published: Awaited<ReturnType<typeof publish>>
  try {
    published = await withNewSeat(deps, userId, app, requestKey, publish)
  } catch (error) {
    if (error instanceof AppError && error.code === 'NOT_FOUND')
      await discardAppOutput(deps, appId, [dir], error)
    await deps.storage.remove(dir)
    throw error
  }
  await pruneVersions(deps.storage, appId)
  return answer(deps, published.app, published.site, published.now, rendered.published)
}

/** Deletes all but an app's newest `keep` rows of a history table (deploys, policy versions). */
async function keepNewest(
  tx: Tx,
  table: typeof deploys | typeof policyVersions,
  newest: SQLiteColumn,
  appId: string,
  keep: number,
) {
  const kept = tx
    .select({ id: table.id })
    .from(table)
    .where(eq(table.appId, appId))
    .orderBy(desc(newest), desc(table.id))
    .limit(keep)
  await exec(tx.delete(table).where(and(eq(table.appId, appId), notInArray(table.id, kept))))
}

/** Removes rendered versions older than the last VERSIONS_KEPT (names sort by time: UUID v7). */
async function pruneVersions(storage: FileStorage, appId: string) {
  const root = storage.appPath(appId, 'versions')
  const versions = (await storage.list(root)).sort()
  for (const old of versions.slice(0, Math.max(0, versions.length - VERSIONS_KEPT)))
    await storage.remove(`${root}/${old}`)
}

/** Deploys of an app, newest first (at most 50). */
export function deployHistory(store: Store, userId: string, appId: string) {
  return readTransaction(store, async (tx) => {
    await ownedApp(tx, userId, appId)
    return await many(
      tx
        .select()
        .from(deploys)
        .where(eq(deploys.appId, appId))
        .orderBy(desc(deploys.deployedAt), desc(deploys.id))
        .limit(MAX_DEPLOYS),
    )
  })
}
