import { OWNED_TABLES } from '../../db/ownership'
import type { Snapshot } from '../../db/snapshot'
import { type Store, writeTransaction } from '../../db/store'
import type { Clock } from '../lib/clock'
import { youngGarbageCollector } from '../lib/collect-garbage'
import { recordAudit } from './audit'
import { recordApiRequest } from './data-requests'
import { lockLiveAccount } from './live-account'

export const EXPORT_FORMAT_VERSION = 1
/** Bytes of JSON gathered before a chunk is handed to the socket. */
const CHUNK_CHARS = 64 * 1024

export interface ExportContext {
  snapshot: Snapshot
  userId: string
  /** The instant the export describes (its snapshot was taken then). */
  now: number
  /** Rows written per section; becomes `_manifest.counts`. */
  counts: Record<string, number>
}

/** One dialect's projection of the export: its sections in order, as JSON text pieces. */
export interface ExportPlan {
  dialect: 'api' | 'v1'
  filename: string
  /** Every section the plan writes (checked against the ownership registry). */
  sections: readonly string[]
  /** Yields the JSON text of the document, from `{` up to (not including) `_manifest`. */
  generate(ctx: ExportContext): AsyncGenerator<string>
}

/**
 * Fails fast when the ownership registry places a table in a section this plan does not write:
 * adding a table to the registry without handling it in each export cannot go unnoticed.
 */
export function assertPlanCoversRegistry(plan: ExportPlan) {
  for (const table of OWNED_TABLES) {
    if ('notExported' in table.export) continue
    const section = table.export[plan.dialect]
    if (!plan.sections.includes(section))
      throw new Error(
        `the ${plan.dialect} export does not write section "${section}" of owned table ${table.name}`,
      )
  }
}

/**
 * Streams the user's whole account as JSON from one read snapshot taken now, synchronously: a
 * write that lands while the body streams is not in it. Rows are read with iterators and written
 * in ~64 KB chunks as the client pulls, so memory stays flat however large the account is. The
 * last key is `_manifest`, so a reader can tell it received everything.
 */
export async function exportAccount(
  { store, clock }: { store: Store; clock: Clock },
  userId: string,
  plan: ExportPlan,
  /** An archive's build (export-archives.ts): recorded when it was asked for; counts rows as it goes. */
  options: { record: boolean; counts?: Record<string, number>; snapshot?: Snapshot } = { record: true },
): Promise<{ stream: ReadableStream<Uint8Array>; filename: string }> {
  const now = clock.now()
  // A snapshot passed in is its caller's to close (an archive counts its rows in it first).
  const snapshot = options.snapshot ?? (await store.snapshot(userId))
  const closeSnapshot = () => (options.snapshot ? undefined : snapshot.close())
  if (options.record)
    try {
      await writeTransaction(store, async (tx) => {
        await lockLiveAccount(tx, userId)
        await recordAudit(tx, clock, userId, 'account.exported', { dialect: plan.dialect })
        // An export download is an access request, answered at once: the case log records it.
        await recordApiRequest(tx, clock, userId, 'access', { fulfilled: true })
      })
    } catch (error) {
      await closeSnapshot()
      throw error
    }
  const ctx: ExportContext = { snapshot, userId, now, counts: options.counts ?? {} }
  const pieces = (async function* () {
    yield* plan.generate(ctx)
    const manifest = {
      formatVersion: EXPORT_FORMAT_VERSION,
      generatedAt: new Date(now).toISOString(),
      counts: ctx.counts,
    }
    yield `,"_manifest":${JSON.stringify(manifest)}}`
  })()
  const encoder = new TextEncoder()
  // Every ~4 MiB of output (lib/collect-garbage.ts): a million-row export stays within ~50 MiB.
  const collect = youngGarbageCollector(64)
  let closed = false
  const finish = () => {
    if (closed) return
    closed = true
    // On PostgreSQL this ends the snapshot's transaction; nothing waits for it.
    Promise.resolve(closeSnapshot()).catch(() => {})
  }
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        let chunk = ''
        while (chunk.length < CHUNK_CHARS) {
          const next = await pieces.next()
          if (next.done) {
            if (chunk) controller.enqueue(encoder.encode(chunk))
            controller.close()
            finish()
            return
          }
          chunk += next.value
        }
        controller.enqueue(encoder.encode(chunk))
        collect()
      } catch (error) {
        finish()
        controller.error(error)
      }
    },
    async cancel() {
      await pieces.return(undefined)
      finish()
    },
  })
  return { stream, filename: plan.filename }
}

// Section writers: each yields `,"name":<json>` and records its row count.

/** A snapshot's rows: read at once from SQLite, fetched in batches from PostgreSQL. */
type Rows<T> = Iterable<T> | AsyncIterable<T>

export async function* single<T>(
  ctx: ExportContext,
  name: string,
  pending: T | undefined | null | Promise<T | undefined | null>,
  project: (row: T) => unknown,
) {
  const row = await pending
  ctx.counts[name] = row ? 1 : 0
  yield `,${JSON.stringify(name)}:${row ? JSON.stringify(project(row)) : 'null'}`
}

export async function* list<T>(
  ctx: ExportContext,
  name: string,
  rows: Rows<T>,
  project: (row: T) => unknown,
) {
  yield `,${JSON.stringify(name)}:[`
  let n = 0
  for await (const row of rows) yield (n++ ? ',' : '') + JSON.stringify(project(row))
  ctx.counts[name] = n
  yield ']'
}

/** `{"<key>": <row>, …}` — one row per key. */
export async function* keyed<T>(
  ctx: ExportContext,
  name: string,
  rows: Rows<T>,
  key: (row: T) => string,
  project: (row: T) => unknown,
) {
  yield `,${JSON.stringify(name)}:{`
  let n = 0
  for await (const row of rows)
    yield `${n++ ? ',' : ''}${JSON.stringify(key(row))}:${JSON.stringify(project(row))}`
  ctx.counts[name] = n
  yield '}'
}

/**
 * `{"<key>": [<row>, …], …}` or, with `asObject`, `{"<key>": {"<sub>": <row>}}` — rows arrive
 * grouped by key (the snapshot reads owner by owner), so groups stream without buffering.
 */
export async function* grouped<T>(
  ctx: ExportContext,
  name: string,
  rows: Rows<T>,
  key: (row: T) => string,
  project: (row: T) => unknown,
  asObject?: (row: T) => string,
) {
  yield `,${JSON.stringify(name)}:{`
  let n = 0
  let current: string | null = null
  for await (const row of rows) {
    const k = key(row)
    if (k !== current) {
      if (current !== null) yield asObject ? '}' : ']'
      yield `${current !== null ? ',' : ''}${JSON.stringify(k)}:${asObject ? '{' : '['}`
      current = k
      yield asObject
        ? `${JSON.stringify(asObject(row))}:${JSON.stringify(project(row))}`
        : JSON.stringify(project(row))
    } else
      yield asObject
        ? `,${JSON.stringify(asObject(row))}:${JSON.stringify(project(row))}`
        : `,${JSON.stringify(project(row))}`
    n++
  }
  if (current !== null) yield asObject ? '}' : ']'
  ctx.counts[name] = n
  yield '}'
}

export async function first<T>(rows: Rows<T>): Promise<T | undefined> {
  for await (const row of rows) return row
  return undefined
}
