import { EpochTopic } from '../../../db/change-epochs'
import { readTransaction, type Store, statementsFor, type Tx } from '../../../db/store'
import { andThen } from '../../lib/maybe-async'
import type { FileStorage } from '../../lib/storage'
import { PAGE_FILES } from '../../render/site'
import { type VersionManifest, versionDir } from '../../services/deploy'
import { isWellKnownFileName, wellKnownPath } from '../../services/sites'

/** A published site, as hosting needs it. */
export interface HostedSite {
  appId: string
  version: string
  searchIndexing: boolean
}

interface HostedRow {
  app_id: string
  published_version: string | null
  search_indexing: number
}

/** Pages are short-lived in caches (a deploy changes them); ETags make revalidation cheap. */
const CACHE_CONTROL = 'public, max-age=60'
/** Hosted pages run no script at all, whatever ends up in them. */
const PAGE_CSP =
  "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; font-src https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
const WELL_KNOWN_TYPES: Record<string, string> = {
  'apple-developer-domain-association.txt': 'text/plain; charset=utf-8',
  'apple-developer-merchantid-domain-association': 'text/plain; charset=utf-8',
  'apple-wallet-order-type-association': 'application/json',
}

const NOT_FOUND_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found</title></head><body><h1>Not found</h1><p>There is no page here.</p></body></html>\n'

export const notFoundPage = () =>
  new Response(NOT_FOUND_PAGE, {
    status: 404,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  })

/** The file of a version a hosted path maps to (pages with or without a trailing slash). */
const ROUTES = new Map<string, string>([
  ['', 'index.html'],
  ['index.html', 'index.html'],
  ...Object.values(PAGE_FILES).map((p) => [p.path, p.file] as [string, string]),
])

/** Pages at most this large are kept in memory once read; larger files are streamed from disk. */
const MAX_CACHED_FILE_BYTES = 512 * 1024
const MAX_CACHED_BYTES = 64 * 1024 * 1024
const MAX_CACHED_LOOKUPS = 10_000

/**
 * Serves published sites. Hosted pages are the public, highest-volume traffic, so the lookups
 * (slug or domain → site) and the bytes of small published files are kept in memory, all under
 * the hosting epoch (db/change-epochs.ts): a deploy, a domain change, a slug change or an
 * erasure — in any process — moves it, and the next request drops everything and reads again
 * (so an erased app's pages leave memory at once too). A published version's files never change
 * (a deploy writes a new version), so bytes read once stay right while the epoch holds.
 *
 * Which epoch a request sees is the store's `fresh()`: on SQLite the shared counters at once; on
 * PostgreSQL a read of them that started after the request arrived, once per request (a change
 * any instance acknowledged before is seen). What a request reads after taking its epoch is
 * cached under that epoch: it is at least as new as the epoch says, so the next request whose
 * epoch moved drops it.
 */
const COLUMNS =
  'SELECT s.app_id, s.published_version, s.search_indexing FROM sites s JOIN apps a ON a.id = s.app_id'
const lookups = statementsFor((db) => ({
  bySlug: db.prepare<HostedRow, [string]>(`${COLUMNS} WHERE a.slug = ? AND a.deployed`),
  byDomain: db.prepare<HostedRow, [string]>(
    `${COLUMNS} WHERE s.custom_domain = ? AND s.domain_status = 'active' AND a.deployed`,
  ),
  domainActive: db.prepare<{ one: number }, [string]>(
    "SELECT 1 AS one FROM sites WHERE custom_domain = ? AND domain_status = 'active'",
  ),
}))

export class Hosting {
  private readonly manifests = new Map<string, VersionManifest>()
  private readonly lookups = new Map<string, HostedSite | boolean | null>()
  private readonly pages = new Map<string, PreparedPage>()
  private cachedBytes = 0
  private cacheEpoch: number | null = null
  /** Per request, its hosting epoch on PostgreSQL (a lookup and a page ask once). */
  private readonly requestEpochs = new WeakMap<Request, Promise<number | null>>()

  constructor(
    private readonly store: Store,
    private readonly storage: FileStorage,
  ) {}

  /** Synchronous when cached on SQLite (the common case); a read of the store otherwise. */
  siteBySlug(slug: string, request: Request): HostedSite | null | Promise<HostedSite | null> {
    return this.cached(request, `slug:${slug}`, async (tx) => this.hosted(await lookups(tx).bySlug.get(slug)))
  }

  siteByDomain(host: string, request: Request): HostedSite | null | Promise<HostedSite | null> {
    return this.cached(request, `domain:${host}`, async (tx) =>
      this.hosted(await lookups(tx).byDomain.get(host)),
    )
  }

  /** Whether an app has this custom domain verified (active): pending claims are never served. */
  isActive(host: string, request: Request): boolean | Promise<boolean> {
    return this.cached(
      request,
      `active:${host}`,
      async (tx) => (await lookups(tx).domainActive.get(host)) !== null,
    )
  }

  /** The request's hosting epoch (null: nothing may be cached). */
  private epochOf(request: Request): number | null | Promise<number | null> {
    const known = this.requestEpochs.get(request)
    if (known !== undefined) return known
    const epoch = this.store.epochs.fresh(EpochTopic.hosting)
    if (epoch instanceof Promise) this.requestEpochs.set(request, epoch)
    return epoch
  }

  /** Takes `epoch` as the caches' (dropping them when it moved); answers whether they may be used. */
  private adopt(epoch: number | null): boolean {
    if (epoch !== this.cacheEpoch) {
      this.lookups.clear()
      this.pages.clear()
      this.cachedBytes = 0
      this.cacheEpoch = epoch
    }
    return epoch !== null
  }

  /**
   * Whether what was read since the caches' epoch was `readAt` may be kept under it: the caches
   * still hold that epoch, and where the store knows its epoch now (SQLite), it has not moved.
   */
  private stillAt(readAt: number | null): boolean {
    if (readAt === null || this.cacheEpoch !== readAt) return false
    const now = this.store.epochs.current(EpochTopic.hosting)
    return now === null || (this.adopt(now) && this.cacheEpoch === readAt)
  }

  private cached<T extends HostedSite | boolean | null>(
    request: Request,
    key: string,
    read: (tx: Tx) => Promise<T>,
  ): T | Promise<T> {
    return andThen(this.epochOf(request), (epoch) => this.cachedAt(epoch, key, read))
  }

  private cachedAt<T extends HostedSite | boolean | null>(
    epoch: number | null,
    key: string,
    read: (tx: Tx) => Promise<T>,
  ): T | Promise<T> {
    if (!this.adopt(epoch)) return readTransaction(this.store, read)
    if (this.lookups.has(key)) {
      const hit = this.lookups.get(key) as T
      // Self-check (CHECK_CACHES, tests): a hit must equal what the rows say now.
      if (this.store.epochs.selfCheck)
        return readTransaction(this.store, read).then((fresh) => {
          if (JSON.stringify(hit) !== JSON.stringify(fresh))
            throw new Error('hosting changed without raising its epoch (db/change-epochs.ts)')
          return hit
        })
      return hit
    }
    const readAt = this.cacheEpoch
    return readTransaction(this.store, read).then((value) => {
      // Kept only if the epoch did not move while reading (the row may have changed since).
      if (this.stillAt(readAt)) {
        if (this.lookups.size >= MAX_CACHED_LOOKUPS) this.lookups.clear()
        this.lookups.set(key, value)
      }
      return value
    })
  }

  /**
   * A published page ready to send: its headers and (when small) its bytes, read once per
   * version. Null when the version has no such file.
   */
  private async preparePage(site: HostedSite, fileName: string, key: string): Promise<PreparedPage | null> {
    const readAt = this.cacheEpoch
    const manifest = await this.manifest(site)
    const entry = manifest?.files[fileName]
    if (!entry) return null
    const path = `${versionDir(this.storage, site.appId, site.version)}/${fileName}`
    const file = await this.storage.body(path)
    if (!file) return null
    const headers: Record<string, string> = {
      'content-type': entry.contentType,
      etag: entry.etag,
      'cache-control': CACHE_CONTROL,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'strict-origin-when-cross-origin',
    }
    // A beta invitation is never indexed, whatever the site's searchIndexing (render/site.ts too).
    if (!site.searchIndexing || fileName === PAGE_FILES.testflight.file)
      headers['x-robots-tag'] = 'noindex, nofollow'
    if (entry.contentType.startsWith('text/html')) headers['content-security-policy'] = PAGE_CSP
    const bytes = file.size <= MAX_CACHED_FILE_BYTES ? new Uint8Array(await file.arrayBuffer()) : null
    const page: PreparedPage = { path, etag: entry.etag, headers, bytes }
    // Kept only if the epoch did not move while reading: a deploy in between may have removed it.
    if (this.stillAt(readAt)) {
      const size = bytes?.byteLength ?? 0
      if (this.cachedBytes + size > MAX_CACHED_BYTES || this.pages.size >= MAX_CACHED_LOOKUPS) {
        this.pages.clear()
        this.cachedBytes = 0
      }
      this.pages.set(key, page)
      this.cachedBytes += size
    }
    return page
  }

  /**
   * Whether the page cache may answer: on SQLite, at the epoch now; elsewhere, at the epoch the
   * request's lookup just took (or a newer one another request took since).
   */
  private pagesUsable(): boolean {
    const now = this.store.epochs.current(EpochTopic.hosting)
    return now === null ? this.cacheEpoch !== null : this.adopt(now)
  }

  private hosted(row: HostedRow | null): HostedSite | null {
    return row?.published_version
      ? { appId: row.app_id, version: row.published_version, searchIndexing: row.search_indexing === 1 }
      : null
  }

  private async manifest(site: HostedSite): Promise<VersionManifest | null> {
    const key = `${site.appId}/${site.version}`
    let manifest = this.manifests.get(key)
    if (!manifest) {
      try {
        const bytes = await this.storage.read(
          `${versionDir(this.storage, site.appId, site.version)}/manifest.json`,
        )
        if (!bytes) return null
        manifest = JSON.parse(new TextDecoder().decode(bytes)) as VersionManifest
      } catch {
        return null
      }
      if (this.manifests.size > 1000) this.manifests.clear()
      this.manifests.set(key, manifest)
    }
    return manifest
  }

  /**
   * Answers a path of a hosted site (`path` relative to the site root, without leading slash),
   * after this request looked the site up (which took its epoch). Synchronous when the page is in
   * memory — the common case.
   */
  serve(site: HostedSite, path: string, request: Request): Response | Promise<Response> {
    const clean = path.replace(/^\/+/, '').replace(/\/+$/, '')
    if (clean.startsWith('.well-known/') && clean !== '.well-known/apple-app-site-association')
      return this.serveWellKnown(site, clean.slice('.well-known/'.length))
    const fileName = ROUTES.get(clean)
    if (!fileName) return notFoundPage()
    const key = `${site.appId}/${site.version}/${fileName}/${site.searchIndexing ? 1 : 0}`
    const page = this.pagesUsable() ? this.pages.get(key) : undefined
    if (page) return respond(page, request, this.storage)
    return this.preparePage(site, fileName, key).then((p) =>
      p ? respond(p, request, this.storage) : notFoundPage(),
    )
  }

  private async serveWellKnown(site: HostedSite, name: string): Promise<Response> {
    if (!isWellKnownFileName(name)) return notFoundPage()
    const file = await this.storage.body(wellKnownPath(this.storage, site.appId, name))
    if (!file) return notFoundPage()
    const headers: Record<string, string> = {
      'content-type': WELL_KNOWN_TYPES[name] as string,
      'cache-control': CACHE_CONTROL,
      'x-content-type-options': 'nosniff',
    }
    if (!site.searchIndexing) headers['x-robots-tag'] = 'noindex, nofollow'
    return new Response(file, { headers })
  }
}

interface PreparedPage {
  /** Where the file is in the storage (read again for each answer when too large to keep). */
  path: string
  etag: string
  headers: Readonly<Record<string, string>>
  /** The file's bytes when small enough to keep; otherwise it is streamed from `path`. */
  bytes: Uint8Array | null
}

function respond(page: PreparedPage, request: Request, storage: FileStorage): Response | Promise<Response> {
  if (request.headers.get('if-none-match') === page.etag)
    return new Response(null, { status: 304, headers: page.headers })
  if (page.bytes) return new Response(page.bytes, { headers: page.headers })
  return storage
    .body(page.path)
    .then((body) => (body ? new Response(body, { headers: page.headers }) : notFoundPage()))
}
