import { and, asc, eq, isNotNull, lte } from 'drizzle-orm'
import { exec, many, one } from '../../db/query'
import type { ArchiveFormat } from '../../db/schema'
import { readTransaction, type Store, writeTransaction } from '../../db/store'
import { exportArchives } from '../../db/tables'
import { AppError } from '../errors'
import type { Clock } from '../lib/clock'
import { uuidv7 } from '../lib/ids'
import { readParts } from '../lib/part-writer'
import { openSignedLink, signLink } from '../lib/signed-link'
import type { FileStorage } from '../lib/storage'
import { recordApiRequest } from './data-requests'
import { lockLiveAccount } from './live-account'

export type ArchiveRow = typeof exportArchives.$inferSelect
/** Who asked, which decides the JSON document's dialect: `api`, `v1`, or `operator` (v1's). */
export type ArchiveRequester = 'api' | 'v1' | 'operator'

export interface ArchiveDeps {
  store: Store
  clock: Clock
  storage: FileStorage
  config: { publicUrl: string; exportLinkTtlMs: number }
}

/** Where an archive's parts are stored. */
export const archiveDirectory = (id: string) => `exports/${id}`

/**
 * Queues an archive of the account. The account holder's is recorded as an access request
 * (fulfilled when the archive is ready); an operator's is not a request of the person's.
 */
export async function createArchive(
  deps: ArchiveDeps,
  userId: string,
  format: ArchiveFormat,
  requestedBy: ArchiveRequester,
): Promise<ArchiveRow> {
  const created = await writeTransaction(deps.store, async (tx) => {
    await lockLiveAccount(tx, userId)
    const now = deps.clock.now()
    const row = (await one(
      tx
        .insert(exportArchives)
        .values({
          id: `exp_${uuidv7(deps.clock).replaceAll('-', '')}`,
          userId,
          format,
          status: 'queued',
          requestedBy,
          createdAt: now,
          updatedAt: now,
        })
        .returning(),
    )) as ArchiveRow
    if (requestedBy !== 'operator')
      await recordApiRequest(tx, deps.clock, userId, 'access', { fulfilled: false, exportId: row.id })
    return row
  })
  for (const fn of queuedListeners) fn()
  return created
}

const queuedListeners = new Set<() => void>()
/** Calls `fn` whenever this process queues an archive (the builder of `serve` wakes up). */
export function onArchiveQueued(fn: () => void) {
  queuedListeners.add(fn)
  return () => queuedListeners.delete(fn)
}

/** An archive by id; `ownerId` limits it to that account (another account's id is not found). */
export async function getArchive(store: Store, id: string, ownerId: string | null): Promise<ArchiveRow> {
  const row = await readTransaction(store, (tx) =>
    one(tx.select().from(exportArchives).where(eq(exportArchives.id, id))),
  )
  if (!row || (ownerId !== null && row.userId !== ownerId)) throw new AppError('NOT_FOUND', 'No such export.')
  return row
}

const PURPOSE = 'export-archive-link'

/** The download link of a ready archive: signed, no credential, valid until the archive expires. */
export function downloadUrl(deps: Pick<ArchiveDeps, 'config'>, row: ArchiveRow): string | null {
  if (row.status !== 'ready' || row.expiresAt === null) return null
  return `${deps.config.publicUrl}/v1/export-archives/${signLink(PURPOSE, row.id, row.expiresAt)}`
}

/** The archive a link names: 404 when it is not ours (tampered, made up), 410 once it expired. */
export async function archiveOfLink(deps: ArchiveDeps, token: string): Promise<ArchiveRow> {
  const notFound = () => new AppError('NOT_FOUND', 'No such export link.')
  const opened = openSignedLink(PURPOSE, token, /^exp_[0-9a-f]{32}$/, deps.clock.now())
  if (opened === null) throw notFound()
  if (opened === 'expired') throw new AppError('LINK_EXPIRED', 'This export link has expired.')
  const row = await readTransaction(deps.store, (tx) =>
    one(tx.select().from(exportArchives).where(eq(exportArchives.id, opened.subject))),
  )
  if (row?.status !== 'ready' || row.size === null) throw notFound()
  return row
}

const FILE_NAMES: Record<ArchiveFormat, string> = {
  json: 'account-export.json',
  csv: 'account-export-csv.zip',
}
const CONTENT_TYPES: Record<ArchiveFormat, string> = { json: 'application/json', csv: 'application/zip' }

/**
 * The archive's bytes, streamed from its stored parts: `Content-Length`, a strong `ETag` (its
 * SHA-256), `Accept-Ranges`, one `Range` (206, or 416 when it cannot be met), `If-None-Match`.
 */
export function archiveResponse(deps: ArchiveDeps, row: ArchiveRow, request: Request): Response {
  const size = row.size as number
  const etag = `"${row.sha256}"`
  const headers: Record<string, string> = {
    'content-type': CONTENT_TYPES[row.format],
    'content-disposition': `attachment; filename="${FILE_NAMES[row.format]}"`,
    etag,
    'accept-ranges': 'bytes',
    'cache-control': 'private, no-store',
  }
  if (request.headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers })
  const range = parseRange(request.headers.get('range'), size)
  if (range === 'unsatisfiable')
    return new Response(null, { status: 416, headers: { ...headers, 'content-range': `bytes */${size}` } })
  const [start, end] = range ?? [0, size - 1]
  const body = size === 0 ? null : readParts(deps.storage, archiveDirectory(row.id), start, end)
  return new Response(body, {
    status: range ? 206 : 200,
    headers: {
      ...headers,
      'content-length': String(size === 0 ? 0 : end - start + 1),
      ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    },
  })
}

/** One `bytes=` range (first-last, first-, -suffix); several, or another unit, are ignored (200). */
function parseRange(header: string | null, size: number): [number, number] | 'unsatisfiable' | null {
  if (!header) return null
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!match || (match[1] === '' && match[2] === '')) return null
  let start: number
  let end: number
  if (match[1] === '') {
    const suffix = Number(match[2])
    if (suffix === 0) return 'unsatisfiable'
    start = Math.max(0, size - suffix)
    end = size - 1
  } else {
    start = Number(match[1])
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)
  }
  if (start >= size || start > end) return 'unsatisfiable'
  return [start, end]
}

/** Worker: archives past their expiry go, files first. */
export async function reapExpiredArchives(deps: ArchiveDeps): Promise<number> {
  const now = deps.clock.now()
  const expired = await readTransaction(deps.store, (tx) =>
    many(
      tx
        .select({ id: exportArchives.id })
        .from(exportArchives)
        .where(and(isNotNull(exportArchives.expiresAt), lte(exportArchives.expiresAt, now)))
        .orderBy(asc(exportArchives.expiresAt))
        .limit(100),
    ),
  )
  for (const { id } of expired) {
    await deps.storage.remove(archiveDirectory(id))
    await writeTransaction(deps.store, (tx) =>
      exec(tx.delete(exportArchives).where(eq(exportArchives.id, id))),
    )
  }
  return expired.length
}
