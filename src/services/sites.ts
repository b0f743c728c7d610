import { eq } from 'drizzle-orm'
import { isUniqueViolation } from '../../db/errors'
import { exec, one } from '../../db/query'
import type { AppRow, SiteRow } from '../../db/rows'
import type { SmartBanner, WellKnownFlags } from '../../db/schema'
import { readTransaction, type Store, writeTransaction } from '../../db/store'
import { apps, sites } from '../../db/tables'
import { AppError, fieldError } from '../errors'
import type { Clock } from '../lib/clock'
import { sha256Hex } from '../lib/crypto'
import { ImageError, processIcon } from '../lib/images'
import { sanitizeHomepage } from '../lib/sanitize'
import type { FileStorage } from '../lib/storage'
import { writeAppFilesThenCommit } from './app-files'
import { ownedApp, ownedAppToChange, requireOwnedApp, siteOf } from './apps'
import { isReservedSlug, slugProblem } from './slugs'

/** A site with none of the Apple well-known files uploaded. */
export const NO_WELL_KNOWN_FILES: WellKnownFlags = {
  appleDeveloperDomainAssociation: false,
  appleDeveloperMerchantId: false,
  appleWalletOrderType: false,
}

export interface SitesDeps {
  store: Store
  clock: Clock
  storage: FileStorage
  config: { publicUrl: string }
}

export interface SitePatch {
  appName?: string
  description?: string | null
  slug?: string
  searchIndexing?: boolean
  customHomepageHtml?: string | null
}

/** The largest custom homepage, in UTF-8 bytes (docs/spec/api-orbit.md: ≤ 50 KB). */
export const MAX_HOMEPAGE_BYTES = 50 * 1024

/**
 * Partial update of an app's site. A slug another app holds is SLUG_TAKEN — decided by the unique
 * index, so of two concurrent PATCHes to one slug exactly one wins. The custom homepage is stored
 * sanitised; `""` resets it.
 */
export async function updateSite(
  deps: SitesDeps,
  userId: string,
  appId: string,
  patch: SitePatch,
): Promise<{ app: AppRow; site: SiteRow }> {
  if (patch.slug !== undefined) {
    const problem = slugProblem(patch.slug)
    if (problem) throw fieldError(['slug'], problem)
    if (isReservedSlug(patch.slug))
      throw new AppError('SLUG_RESERVED', `The slug "${patch.slug}" is reserved.`)
  }
  let homepage: string | null | undefined = patch.customHomepageHtml
  if (typeof homepage === 'string') {
    if (Buffer.byteLength(homepage, 'utf8') > MAX_HOMEPAGE_BYTES)
      throw fieldError(['customHomepageHtml'], `must be at most ${MAX_HOMEPAGE_BYTES} bytes`)
    homepage = homepage.trim() === '' ? null : sanitizeHomepage(homepage)
  }
  try {
    return await writeTransaction(deps.store, async (tx) => {
      const app = await ownedAppToChange(tx, userId, appId)
      const now = deps.clock.now()
      const appChanges: Partial<AppRow> = {}
      if (patch.appName !== undefined) appChanges.appName = patch.appName
      if (patch.slug !== undefined && patch.slug !== app.slug) appChanges.slug = patch.slug
      const updatedApp =
        Object.keys(appChanges).length > 0
          ? ((await one(
              tx
                .update(apps)
                .set({ ...appChanges, updatedAt: now })
                .where(eq(apps.id, appId))
                .returning(),
            )) as AppRow)
          : app
      const siteChanges: Partial<SiteRow> = { updatedAt: now }
      if (patch.description !== undefined) siteChanges.description = patch.description
      if (patch.searchIndexing !== undefined) siteChanges.searchIndexing = patch.searchIndexing
      if (homepage !== undefined) siteChanges.customHomepageHtml = homepage
      const site = (await one(
        tx.update(sites).set(siteChanges).where(eq(sites.appId, appId)).returning(),
      )) as SiteRow
      return { app: updatedApp, site }
    })
  } catch (error) {
    if (isUniqueViolation(error, 'apps.slug'))
      throw new AppError('SLUG_TAKEN', `The slug "${patch.slug}" is already taken.`)
    throw error
  }
}

export function smartBannerOf(store: Store, userId: string, appId: string): Promise<SmartBanner> {
  return readTransaction(store, async (tx) => {
    await ownedApp(tx, userId, appId)
    const banner = (await siteOf(tx, appId))?.smartBanner
    if (!banner) throw new AppError('NOT_FOUND', 'No smart banner is configured for this app.')
    return banner
  })
}

export function saveSmartBanner(
  deps: SitesDeps,
  userId: string,
  appId: string,
  banner: SmartBanner,
): Promise<SmartBanner> {
  return writeTransaction(deps.store, async (tx) => {
    await ownedAppToChange(tx, userId, appId)
    await exec(
      tx
        .update(sites)
        .set({ smartBanner: banner, updatedAt: deps.clock.now() })
        .where(eq(sites.appId, appId)),
    )
    return banner
  })
}

/** The three Apple verification files an app may host, and the Site flag each one sets. */
export const WELL_KNOWN_FILES = {
  'apple-developer-domain-association.txt': 'appleDeveloperDomainAssociation',
  'apple-developer-merchantid-domain-association': 'appleDeveloperMerchantId',
  'apple-wallet-order-type-association': 'appleWalletOrderType',
} as const satisfies Record<string, keyof WellKnownFlags>
export type WellKnownFileName = keyof typeof WELL_KNOWN_FILES
export const MAX_WELL_KNOWN_BYTES = 100 * 1024

export const isWellKnownFileName = (name: string): name is WellKnownFileName =>
  Object.hasOwn(WELL_KNOWN_FILES, name)
export const wellKnownPath = (storage: FileStorage, appId: string, name: WellKnownFileName) =>
  storage.appPath(appId, 'well-known', name)

export async function saveWellKnownFile(
  deps: SitesDeps,
  userId: string,
  appId: string,
  name: string,
  bytes: Uint8Array,
) {
  if (!isWellKnownFileName(name))
    throw fieldError(['fileName'], `must be one of ${Object.keys(WELL_KNOWN_FILES).join(', ')}`)
  if (bytes.length === 0) throw fieldError(['body'], 'the file is empty')
  if (bytes.length > MAX_WELL_KNOWN_BYTES)
    throw fieldError(['body'], `the file is larger than ${MAX_WELL_KNOWN_BYTES} bytes`)
  await requireOwnedApp(deps.store, userId, appId)
  const path = wellKnownPath(deps.storage, appId, name)
  await writeAppFilesThenCommit(
    deps,
    userId,
    appId,
    [path],
    () => deps.storage.write(path, bytes),
    async (tx) => {
      const site = await siteOf(tx, appId)
      const flags: WellKnownFlags = {
        ...NO_WELL_KNOWN_FILES,
        ...site?.wellKnownFiles,
        [WELL_KNOWN_FILES[name]]: true,
      }
      await exec(
        tx
          .update(sites)
          .set({ wellKnownFiles: flags, updatedAt: deps.clock.now() })
          .where(eq(sites.appId, appId)),
      )
    },
  )
  return { success: true as const, fileName: name }
}

export const MAX_ICON_BYTES = 2 * 1024 * 1024

/**
 * Stores an app icon: PNG, JPEG or WebP up to 2 MB, re-encoded as a 512×512 PNG without
 * metadata, under a content-addressed name (so a new icon is never hidden by a cached old one).
 */
export async function saveIcon(deps: SitesDeps, userId: string, appId: string, bytes: Uint8Array) {
  if (bytes.length === 0) throw fieldError(['file'], 'the upload is empty')
  if (bytes.length > MAX_ICON_BYTES) throw fieldError(['file'], 'the image is larger than 2 MB')
  await requireOwnedApp(deps.store, userId, appId)
  let icon: Awaited<ReturnType<typeof processIcon>>
  try {
    icon = await processIcon(bytes)
  } catch (error) {
    if (error instanceof ImageError) throw fieldError(['file'], error.message)
    throw error
  }
  const name = `icon-${sha256Hex(icon.png).slice(0, 16)}.png`
  const path = deps.storage.appPath(appId, 'icons', name)
  const iconUrl = `${deps.config.publicUrl}/files/apps/${appId}/icons/${name}`
  const previous = (await readTransaction(deps.store, (tx) => siteOf(tx, appId)))?.iconUrl
  await writeAppFilesThenCommit(
    deps,
    userId,
    appId,
    [path],
    () => deps.storage.write(path, icon.png),
    async (tx) => {
      await exec(
        tx
          .update(sites)
          .set({ iconUrl, iconColor: icon.color, updatedAt: deps.clock.now() })
          .where(eq(sites.appId, appId)),
      )
    },
  )
  // The old icon file goes once the new URL is recorded.
  const oldName = previous?.split('/icons/')[1]
  if (oldName && oldName !== name && /^icon-[0-9a-f]{16}\.png$/.test(oldName))
    await deps.storage.remove(deps.storage.appPath(appId, 'icons', oldName))
  return { iconUrl, iconColor: icon.color }
}
