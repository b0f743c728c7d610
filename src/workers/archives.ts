import type { AppDeps } from '../deps'
import { ARCHIVE_DOCUMENTS } from '../projections/archive-documents'
import { buildDueArchives } from '../services/archive-builder'
import { onArchiveQueued } from '../services/export-archives'
import { startPollingWorker } from './polling-worker'

/** Builds the archives that are due (what `serve`'s builder and `custodian purge` run). */
export const buildArchives = (deps: AppDeps) => buildDueArchives(deps, ARCHIVE_DOCUMENTS)

/** How often an idle instance looks for archives to build (one queued here wakes it at once). */
const POLL_MS = 5000

/** The export-archive builder of `serve`: every instance runs one; leases share the archives out. */
export function startArchiveWorker(deps: AppDeps) {
  return startPollingWorker(deps.logger, {
    what: 'export archive',
    pollMs: POLL_MS,
    subscribe: onArchiveQueued,
    pass: () => buildArchives(deps),
  })
}
