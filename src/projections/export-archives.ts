import { t } from 'elysia'
import { toRfc3339 } from '../lib/time'
import type { ArchiveRow } from '../services/export-archives'
import { DateTime, Int, nullable, oneOf } from './schema-helpers'

const Status = oneOf(['queued', 'building', 'ready', 'failed'])
const Format = oneOf(['json', 'csv'])

export const V1ExportArchive = t.Object({
  id: t.String(),
  format: Format,
  status: Status,
  progress: t.Object({ rows_done: Int(), rows_total: nullable(Int()) }),
  size: nullable(Int({ description: 'Bytes, once ready' })),
  sha256: nullable(t.String()),
  download_url: nullable(
    t.String({
      format: 'uri',
      description: 'Once ready: a signed link, no credential needed, until expires_at',
    }),
  ),
  error: nullable(t.String()),
  created_at: DateTime,
  ready_at: nullable(DateTime),
  expires_at: nullable(DateTime),
})

export const projectArchiveForV1 = (a: ArchiveRow, url: string | null) => ({
  id: a.id,
  format: a.format,
  status: a.status,
  progress: { rows_done: a.rowsDone, rows_total: a.rowsTotal },
  size: a.size,
  sha256: a.sha256,
  download_url: url,
  error: a.error,
  created_at: toRfc3339(a.createdAt),
  ready_at: toRfc3339(a.readyAt),
  expires_at: toRfc3339(a.expiresAt),
})

export const ApiExportArchive = t.Object({
  exportId: t.String(),
  format: Format,
  status: Status,
  progress: t.Object({ rowsDone: Int(), rowsTotal: nullable(Int()) }),
  size: nullable(Int()),
  sha256: nullable(t.String()),
  downloadUrl: nullable(t.String({ format: 'uri' })),
  error: nullable(t.String()),
  createdAt: Int(),
  readyAt: nullable(Int()),
  expiresAt: nullable(Int()),
})

export const projectArchiveForApi = (a: ArchiveRow, url: string | null) => ({
  exportId: a.id,
  format: a.format,
  status: a.status,
  progress: { rowsDone: a.rowsDone, rowsTotal: a.rowsTotal },
  size: a.size,
  sha256: a.sha256,
  downloadUrl: url,
  error: a.error,
  createdAt: a.createdAt,
  readyAt: a.readyAt,
  expiresAt: a.expiresAt,
})
