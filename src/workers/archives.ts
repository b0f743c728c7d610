import type { AppDeps } from '../deps'
import { errorFields } from '../lib/logger'
import { ARCHIVE_DOCUMENTS } from '../projections/archive-documents'
import { buildDueArchives } from '../services/archive-builder'
import { onArchiveQueued } from '../services/export-archives'

/** Builds the archives that are due (what `serve`'s builder and `custodian purge` run). */
export const buildArchives = (deps: AppDeps) => buildDueArchives(deps, ARCHIVE_DOCUMENTS)

/** How often an idle instance looks for archives to build (one queued here wakes it at once). */
const POLL_MS = 5000

/**
 * The export-archive builder of `serve`: every instance runs one; leases share the archives out
 * (services/archive-builder.ts). A failing pass (the database away) is logged once per episode.
 */
export function startArchiveWorker(deps: AppDeps) {
  let stopped = false
  let failing = false
  let wake: (() => void) | null = null
  let woken = false
  const unsubscribe = onArchiveQueued(() => {
    woken = true
    wake?.()
  })
  const loop = (async () => {
    while (!stopped) {
      try {
        await buildArchives(deps)
        failing = false
      } catch (error) {
        if (!failing) deps.logger.warn('export archive pass failed; retrying', errorFields(error))
        failing = true
      }
      if (!stopped && !woken)
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, POLL_MS).unref?.()
        })
      woken = false
    }
  })()
  return {
    async stop() {
      stopped = true
      unsubscribe()
      wake?.()
      await loop
    },
  }
}
