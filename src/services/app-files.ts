import { eq } from 'drizzle-orm'
import { one } from '../../db/query'
import { readTransaction, type Store, type Tx, writeTransaction } from '../../db/store'
import { apps } from '../../db/tables'
import { AppError } from '../errors'
import type { FileStorage } from '../lib/storage'
import { ownedApp, ownedAppToChange } from './apps'

interface AppFilesDeps {
  store: Store
  storage: FileStorage
}

/**
 * Stores files for an app and then commits the row that points to them — but only while the
 * account and the app are live. An upload or deploy takes time between its ownership check and
 * its write; an erasure (or the app's deletion) can run in between. Rather than a lock that the
 * erasure would wait on, the commit re-checks ownership in its own write transaction (`ownedApp`
 * refuses an account being erased), and a request that lost the race removes its own output and
 * answers 404, as if it had arrived after the erasure. This holds across processes too (the
 * database decides), and an erasure never waits for a slow upload.
 *
 * `outputs` are the files or directories `write` creates (storage paths).
 */
export async function writeAppFilesThenCommit<T>(
  deps: AppFilesDeps,
  userId: string,
  appId: string,
  outputs: string[],
  write: () => Promise<void>,
  commit: (tx: Tx) => T,
): Promise<T> {
  try {
    await write()
  } catch (error) {
    // A write can fail because the erasure removed the directory under it (ENOENT on rename).
    if (!(await appIsLive(deps.store, userId, appId)))
      await discardAppOutput(deps, appId, outputs, goneError())
    throw error
  }
  try {
    return await writeTransaction(deps.store, async (tx) => {
      await ownedAppToChange(tx, userId, appId)
      return commit(tx)
    })
  } catch (error) {
    if (error instanceof AppError && error.code === 'NOT_FOUND')
      await discardAppOutput(deps, appId, outputs, error)
    throw error
  }
}

export function appIsLive(store: Store, userId: string, appId: string): Promise<boolean> {
  return readTransaction(store, async (tx) => {
    try {
      await ownedApp(tx, userId, appId)
      return true
    } catch {
      return false
    }
  })
}

const goneError = () => new AppError('NOT_FOUND', 'No such app.')

/**
 * Removes what a request wrote for an app that is no longer live, then throws `error`. The app's
 * whole directory goes when its row is gone; otherwise (an erasure requested but not finished,
 * which may still fail closed and leave the account as it was) only this request's output and the
 * directories it left empty.
 */
export async function discardAppOutput(
  deps: AppFilesDeps,
  appId: string,
  outputs: string[],
  error: AppError,
): Promise<never> {
  for (const output of outputs) await deps.storage.remove(output)
  const appRow = await readTransaction(deps.store, (tx) =>
    one(tx.select({ id: apps.id }).from(apps).where(eq(apps.id, appId))),
  )
  if (!appRow) await deps.storage.removeAppFiles(appId)
  else
    for (const output of outputs)
      await deps.storage.backend.removeEmptyDirectories(
        output.slice(0, output.lastIndexOf('/')),
        deps.storage.appPath(appId),
      )
  throw error
}
