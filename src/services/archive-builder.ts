import { and, asc, eq, getTableColumns, gte, lt, ne, or, sql } from 'drizzle-orm'
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate'
import { OWNED_TABLES } from '../../db/ownership'
import { exec, many, one } from '../../db/query'
import { lockName } from '../../db/row-locks'
import type { Snapshot } from '../../db/snapshot'
import { readTransaction, type Store, writeTransaction } from '../../db/store'
import { exportArchives, users } from '../../db/tables'
import type { Clock } from '../lib/clock'
import { youngGarbageCollector } from '../lib/collect-garbage'
import { csvRow } from '../lib/csv'
import { errorFields, type Logger } from '../lib/logger'
import { PartWriter } from '../lib/part-writer'
import type { FileStorage } from '../lib/storage'
import { fulfilExportRequests } from './data-requests'
import { emitEvent } from './events'
import { EXPORT_FORMAT_VERSION, type ExportPlan, exportAccount } from './export'
import { type ArchiveRow, archiveDirectory } from './export-archives'

export interface BuilderDeps {
  store: Store
  clock: Clock
  storage: FileStorage
  logger: Logger
  config: { exportLinkTtlMs: number }
}

/** What the archives hold, from the dialects' projections (src/projections/archive-documents.ts). */
export interface ArchiveDocuments {
  /** The JSON export plan of each dialect (operators get `/v1`'s). */
  plans: { api: ExportPlan; v1: ExportPlan }
  /** The JSON Schema of the export the CSV files flatten (in manifest.json). */
  jsonSchema: unknown
}

/** How long a builder holds an archive between two signs of life (a crashed one's is restarted). */
const LEASE_MS = 60_000
const MAX_ATTEMPTS = 3
/** Columns never written into an archive (what the JSON exports leave out too). */
const WITHHELD: Record<string, string[]> = { api_keys: ['key_hash'] }

/** The archive was deleted or its account is being erased while it was built: stop, keep nothing. */
class ArchiveGone extends Error {}

/**
 * Worker: builds queued archives (and restarts those whose builder died), one at a time per
 * account. Answers how many it finished.
 */
export async function buildDueArchives(
  deps: BuilderDeps,
  documents: ArchiveDocuments,
  limit = 10,
): Promise<number> {
  let built = 0
  while (built < limit) {
    const job = await claimNext(deps)
    if (!job) break
    await buildOne(deps, documents, job)
    built++
  }
  return built
}

async function claimNext(deps: BuilderDeps): Promise<ArchiveRow | null> {
  const now = deps.clock.now()
  const due = or(
    eq(exportArchives.status, 'queued'),
    and(eq(exportArchives.status, 'building'), lt(exportArchives.lockedUntil, now)),
  )
  const candidates = await readTransaction(deps.store, (tx) =>
    many(tx.select().from(exportArchives).where(due).orderBy(asc(exportArchives.createdAt)).limit(20)),
  )
  for (const candidate of candidates) {
    const claimed = await writeTransaction(deps.store, async (tx) => {
      // One build per account at a time, across instances.
      await lockName(tx, 'export-build', candidate.userId)
      const busy = await one(
        tx
          .select({ id: exportArchives.id })
          .from(exportArchives)
          .where(
            and(
              eq(exportArchives.userId, candidate.userId),
              eq(exportArchives.status, 'building'),
              gte(exportArchives.lockedUntil, now),
              ne(exportArchives.id, candidate.id),
            ),
          ),
      )
      if (busy) return null
      return (
        (await one(
          tx
            .update(exportArchives)
            .set({
              status: 'building',
              lockedUntil: now + LEASE_MS,
              attempts: candidate.attempts + 1,
              rowsDone: 0,
              updatedAt: now,
            })
            .where(and(eq(exportArchives.id, candidate.id), due))
            .returning(),
        )) ?? null
      )
    })
    if (claimed) return claimed
  }
  return null
}

/** Renews the lease and records progress; throws ArchiveGone when there is no point going on. */
async function stillWanted(deps: BuilderDeps, job: ArchiveRow, rowsDone: number) {
  const now = deps.clock.now()
  const result = await writeTransaction(deps.store, (tx) =>
    exec(
      tx
        .update(exportArchives)
        .set({ lockedUntil: now + LEASE_MS, rowsDone, updatedAt: now })
        .where(
          and(
            eq(exportArchives.id, job.id),
            eq(exportArchives.status, 'building'),
            sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${exportArchives.userId} AND ${users.erasureRequestedAt} IS NULL)`,
          ),
        ),
    ),
  )
  if (result.changes === 0) throw new ArchiveGone()
}

async function buildOne(deps: BuilderDeps, documents: ArchiveDocuments, job: ArchiveRow) {
  const directory = archiveDirectory(job.id)
  // A restarted build begins again from nothing.
  await deps.storage.remove(directory)
  const writer = new PartWriter(deps.storage, directory)
  try {
    // One read snapshot for the whole archive; its own connection counts the rows it will carry
    // (the exported tables'), so progress has a total without touching the server's page cache.
    const snapshot = await deps.store.snapshot(job.userId)
    const progress = { rows: 0 }
    let total = 0
    try {
      for (const table of OWNED_TABLES)
        if (!('notExported' in table.export)) total += await snapshot.count(table)
      await writeTransaction(deps.store, (tx) =>
        exec(tx.update(exportArchives).set({ rowsTotal: total }).where(eq(exportArchives.id, job.id))),
      )
      const onPart = () => stillWanted(deps, job, progress.rows)
      if (job.format === 'json') await writeJson(deps, documents, job, snapshot, writer, progress, onPart)
      else await writeCsvZip(deps, documents, job, snapshot, writer, progress, onPart)
    } finally {
      await snapshot.close()
    }
    const { parts, size, sha256 } = await writer.finish()
    const now = deps.clock.now()
    const done = await writeTransaction(deps.store, async (tx) => {
      const ready = await one(
        tx
          .update(exportArchives)
          .set({
            status: 'ready',
            size,
            sha256,
            parts,
            rowsDone: total,
            readyAt: now,
            expiresAt: now + deps.config.exportLinkTtlMs,
            lockedUntil: null,
            error: null,
            updatedAt: now,
          })
          .where(
            and(
              eq(exportArchives.id, job.id),
              eq(exportArchives.status, 'building'),
              sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${exportArchives.userId} AND ${users.erasureRequestedAt} IS NULL)`,
            ),
          )
          .returning(),
      )
      if (!ready) return false
      await fulfilExportRequests(tx, job.id, now)
      await emitEvent(tx, deps.clock, 'export.ready', job.userId, {
        user_id: job.userId,
        export_id: job.id,
        format: job.format,
        expires_at: new Date(now + deps.config.exportLinkTtlMs).toISOString(),
      })
      return true
    })
    if (!done) throw new ArchiveGone()
  } catch (error) {
    await deps.storage.remove(directory)
    if (error instanceof ArchiveGone) return
    deps.logger.warn('export archive build failed', {
      exportId: job.id,
      attempts: job.attempts,
      ...errorFields(error),
    })
    const now = deps.clock.now()
    const failed = job.attempts >= MAX_ATTEMPTS
    await writeTransaction(deps.store, (tx) =>
      exec(
        tx
          .update(exportArchives)
          .set({
            status: failed ? 'failed' : 'queued',
            error: failed ? 'the archive could not be built; request a new one' : null,
            lockedUntil: null,
            updatedAt: now,
          })
          .where(eq(exportArchives.id, job.id)),
      ),
    )
  }
}

/** JSON: the same document the synchronous export streams (the dialect of whoever asked). */
async function writeJson(
  deps: BuilderDeps,
  documents: ArchiveDocuments,
  job: ArchiveRow,
  snapshot: Snapshot,
  writer: PartWriter,
  progress: { rows: number },
  onPart: () => Promise<void>,
) {
  const counts: Record<string, number> = {}
  const plan = job.requestedBy === 'api' ? documents.plans.api : documents.plans.v1
  const { stream } = await exportAccount(deps, job.userId, plan, { record: false, counts, snapshot })
  const reader = stream.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      writer.push(value)
      progress.rows = Object.values(counts).reduce((a, b) => a + b, 0)
      if (await writer.flush()) await onPart()
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
}

const utf8 = new TextEncoder()
/** Rows encoded and handed to the compressor together (~64 KiB of text). */
const BATCH_CHARS = 64 * 1024

/**
 * CSV: a zip with one RFC 4180 file per exported table (UTF-8 with a BOM for spreadsheets, a header
 * row, times as RFC 3339, formula-like text neutralised) and `manifest.json` (rows, bytes and
 * SHA-256 of each file, the JSON Schema of the export they flatten). One read snapshot for all.
 */
async function writeCsvZip(
  deps: BuilderDeps,
  documents: ArchiveDocuments,
  job: ArchiveRow,
  snapshot: Snapshot,
  writer: PartWriter,
  progress: { rows: number },
  onPart: () => Promise<void>,
) {
  let zipError: Error | null = null
  const zip = new Zip((error, chunk) => {
    if (error) zipError = error
    else writer.push(chunk)
  })
  const settle = async () => {
    if (zipError) throw zipError
    if (await writer.flush()) await onPart()
  }
  // Every ~1 MiB of CSV text (see lib/collect-garbage.ts): building it leaves more garbage per
  // byte than the JSON (a row's cells, quoted copies), and the compressed output is small.
  const collect = youngGarbageCollector(16)
  const files: { name: string; rows: number; bytes: number; sha256: string; columns: string[] }[] = []
  for (const table of OWNED_TABLES) {
    if ('notExported' in table.export) continue
    const withheld = WITHHELD[table.name] ?? []
    const columns = Object.entries(getTableColumns(table.table)).filter(([, c]) => !withheld.includes(c.name))
    const names = columns.map(([, c]) => c.name)
    const file = new ZipDeflate(`${table.name}.csv`, { level: 1 })
    zip.add(file)
    const hash = new Bun.CryptoHasher('sha256')
    let bytes = 0
    let rows = 0
    const emit = (text: string, final = false) => {
      const encoded = utf8.encode(text)
      hash.update(encoded)
      bytes += encoded.length
      file.push(encoded, final)
    }
    const before = progress.rows
    let batch = `\uFEFF${csvRow(names)}`
    const keys = columns.map(([key]) => key)
    const times = columns.map(([, c]) => c.name.endsWith('_at'))
    const cells: unknown[] = new Array(keys.length)
    for await (const row of snapshot.rows<Record<string, unknown>>(table)) {
      for (let i = 0; i < keys.length; i++) {
        const value = row[keys[i] as string]
        // Times (`…_at`, epoch milliseconds) as RFC 3339; everything else as stored.
        cells[i] = times[i] && typeof value === 'number' ? new Date(value).toISOString() : value
      }
      batch += csvRow(cells)
      rows++
      if (batch.length >= BATCH_CHARS) {
        emit(batch)
        batch = ''
        progress.rows = before + rows
        collect()
        await settle()
      }
    }
    emit(batch, true)
    progress.rows = before + rows
    await settle()
    files.push({ name: `${table.name}.csv`, rows, bytes, sha256: hash.digest('hex'), columns: names })
  }
  const manifest = new ZipPassThrough('manifest.json')
  zip.add(manifest)
  manifest.push(
    utf8.encode(
      JSON.stringify(
        {
          format_version: EXPORT_FORMAT_VERSION,
          generated_at: new Date(deps.clock.now()).toISOString(),
          export_id: job.id,
          files,
          json_schema: documents.jsonSchema,
        },
        null,
        2,
      ),
    ),
    true,
  )
  zip.end()
  await settle()
}
