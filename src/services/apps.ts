import { and, asc, count, eq, like, or, sql } from 'drizzle-orm'
import { isUniqueViolation } from '../../db/errors'
import { OWNED_TABLES } from '../../db/ownership'
import { exec, many, one } from '../../db/query'
import { lockAccount, lockName } from '../../db/row-locks'
import type { AppRow, SiteRow } from '../../db/rows'
import { preparedFor, rawDbOf, readTransaction, type Store, type Tx, writeTransaction } from '../../db/store'
import { apps, sites } from '../../db/tables'
import { AppError } from '../errors'
import type { Clock } from '../lib/clock'
import type { FileStorage } from '../lib/storage'
import { lockLiveAccount } from './live-account'
import { baseSlug, isReservedSlug } from './slugs'

/** At most this many apps per account (docs/spec/api-orbit.md). */
export const MAX_APPS = 10

export interface AppsDeps {
  store: Store
  clock: Clock
  storage: FileStorage
  pushId: () => string
}

// Prepared once: Drizzle's builder costs more than these queries (busy routes of both dialects).
const appsOfUser = preparedFor((orm) =>
  orm
    .select()
    .from(apps)
    .where(eq(apps.userId, sql.placeholder('user')))
    .orderBy(asc(apps.createdAt), asc(apps.id))
    .prepare(),
)
const liveAppOfUser = preparedFor((orm) =>
  orm
    .select()
    .from(apps)
    .where(and(eq(apps.id, sql.placeholder('app')), eq(apps.userId, sql.placeholder('user')), ownerIsLive))
    .prepare(),
)

// An app's create and delete (each a handful of statements, ~1 ms of Drizzle building a request
// on PostgreSQL when built each time).
export const appCountOfUser = preparedFor((orm) =>
  orm
    .select({ n: count() })
    .from(apps)
    .where(eq(apps.userId, sql.placeholder('user')))
    .prepare(),
)
const slugsLike = preparedFor((orm) =>
  orm
    .select({ slug: apps.slug })
    .from(apps)
    .where(or(eq(apps.slug, sql.placeholder('base')), like(apps.slug, sql.placeholder('pattern'))))
    .prepare(),
)
const insertApp = preparedFor((orm) =>
  orm
    .insert(apps)
    .values({
      id: sql.placeholder('id'),
      userId: sql.placeholder('user'),
      appName: sql.placeholder('name'),
      slug: sql.placeholder('slug'),
      createdAt: sql.placeholder('now'),
      updatedAt: sql.placeholder('now'),
    })
    .returning()
    .prepare(),
)
const insertSite = preparedFor((orm) =>
  orm
    .insert(sites)
    .values({
      appId: sql.placeholder('app'),
      createdAt: sql.placeholder('now'),
      updatedAt: sql.placeholder('now'),
    })
    .prepare(),
)
const siteOfApp = preparedFor((orm) =>
  orm
    .select()
    .from(sites)
    .where(eq(sites.appId, sql.placeholder('app')))
    .prepare(),
)
const deleteAppRow = preparedFor((orm) =>
  orm
    .delete(apps)
    .where(eq(apps.id, sql.placeholder('app')))
    .prepare(),
)

export function listApps(store: Store, userId: string): Promise<AppRow[]> {
  return readTransaction(store, (tx) => many(appsOfUser(tx), { user: userId }))
}

/**
 * The caller's app, or NOT_FOUND — for an app that does not exist and one that is someone else's
 * alike.
 */
export async function ownedApp(tx: Tx, userId: string, appId: string): Promise<AppRow> {
  const app = await one(liveAppOfUser(tx), { app: appId, user: userId })
  if (!app) throw new AppError('NOT_FOUND', 'No such app.')
  return app
}

/** `ownedApp` in a read transaction of its own: the check before work done outside the store. */
export const requireOwnedApp = (store: Store, userId: string, appId: string): Promise<AppRow> =>
  readTransaction(store, (tx) => ownedApp(tx, userId, appId))

/**
 * IMPORTANT: once an erasure is requested nothing more may be written for the account — a write
 * committed between two of the erasure's chunks would outlive it (or block it on a foreign key).
 * Every write checks ownership through `ownedApp` inside its transaction, so this one condition
 * closes that window.
 */
const ownerIsLive = sql`NOT EXISTS (SELECT 1 FROM users WHERE users.id = ${apps.userId} AND users.erasure_requested_at IS NOT NULL)`

/**
 * `ownedApp` for a write: first locks the owner's account row (db/row-locks.ts), so an erasure
 * requested meanwhile waits for this write, or this write sees it and answers NOT_FOUND.
 */
export async function ownedAppToChange(tx: Tx, userId: string, appId: string): Promise<AppRow> {
  await lockAccount(tx, userId)
  return ownedApp(tx, userId, appId)
}

export async function siteOf(tx: Tx, appId: string): Promise<SiteRow | undefined> {
  return await one(siteOfApp(tx), { app: appId })
}

/**
 * The first free slug for a name: the base, then `-2`, `-3`… Reserved words are skipped like
 * taken ones. Chosen inside the caller's write transaction; the unique index has the last word.
 */
async function freeSlug(tx: Tx, appName: string): Promise<string> {
  const base = baseSlug(appName)
  await lockName(tx, 'slug', base)
  const taken = new Set((await many(slugsLike(tx), { base, pattern: `${base}-%` })).map((r) => r.slug))
  if (!taken.has(base) && !isReservedSlug(base)) return base
  for (let n = 2; ; n++) {
    const candidate = `${base}-${n}`
    if (!taken.has(candidate) && !isReservedSlug(candidate)) return candidate
  }
}

/** Creates an app and its site, with a slug derived from the name. APP_LIMIT_REACHED at 10. */
export async function createApp(deps: AppsDeps, userId: string, appName: string): Promise<AppRow> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await writeTransaction(deps.store, async (tx) => {
        // The app count is the account's: one create at a time per account (db/row-locks.ts).
        await lockLiveAccount(tx, userId, 'update')
        // The count and the slug's choice go out together (on PostgreSQL the count beside the
        // name's lock): a refused create has only taken a lock its rollback gives back.
        const [counted, slug] = await Promise.all([
          one(appCountOfUser(tx), { user: userId }),
          freeSlug(tx, appName),
        ])
        const n = counted?.n ?? 0
        if (n >= MAX_APPS)
          throw new AppError('APP_LIMIT_REACHED', `An account may have at most ${MAX_APPS} apps.`)
        const now = deps.clock.now()
        const app = (await one(insertApp(tx), {
          id: deps.pushId(),
          user: userId,
          name: appName,
          slug,
          now,
        })) as AppRow
        await exec(insertSite(tx), { app: app.id, now })
        return app
      })
    } catch (error) {
      // Another process took the same slug between our read and our insert: pick again.
      if (attempt < 5 && isUniqueViolation(error, 'apps.slug')) continue
      throw error
    }
  }
}

/**
 * Deletes an app and everything under it — site, policy, pages, versions, history (the
 * registry's app-owned tables) — in one transaction, then its stored files and certificate.
 * Its slug and domain are free for others at once.
 */
export async function deleteApp(
  deps: AppsDeps,
  userId: string,
  appId: string,
): Promise<{ app: AppRow; domain: string | null }> {
  const { app, domain } = await writeTransaction(deps.store, async (tx) => {
    const app = await ownedAppToChange(tx, userId, appId)
    const domain = (await siteOf(tx, appId))?.customDomain ?? null
    // The app's tables reference the app only, not each other: their deletes go out together (one
    // round trip on PostgreSQL), the app's row after them.
    await Promise.all(
      OWNED_TABLES.flatMap((table) =>
        table.owner.via === 'app'
          ? [rawDbOf(tx).prepare(`DELETE FROM ${table.name} WHERE ${table.owner.column} = ?`).run(appId)]
          : [],
      ),
    )
    await exec(deleteAppRow(tx), { app: appId })
    return { app, domain }
  })
  await deps.storage.removeAppFiles(appId)
  if (domain) await deps.storage.removeCertificate(domain)
  return { app, domain }
}
