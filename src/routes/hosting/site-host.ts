import type { Statement } from 'bun:sqlite'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { EpochTopic } from '../../../db/change-epochs'
import type { Store } from '../../../db/client'
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
 */
export class Hosting {
  private readonly bySlug: Statement<HostedRow, [string]>
  private readonly byDomain: Statement<HostedRow, [string]>
  private readonly domainActive: Statement<{ one: number }, [string]>
  private readonly manifests = new Map<string, VersionManifest>()
  private readonly lookups = new Map<string, HostedSite | boolean | null>()
  private readonly files = new Map<string, Uint8Array>()
  private cachedBytes = 0
  private cacheEpoch: number | null = null

  constructor(
    private readonly store: Store,
    private readonly storage: FileStorage,
  ) {
    const columns =
      'SELECT s.app_id, s.published_version, s.search_indexing FROM sites s JOIN apps a ON a.id = s.app_id'
    this.bySlug = store.sqlite.prepare(`${columns} WHERE a.slug = ? AND a.deployed = 1`)
    this.byDomain = store.sqlite.prepare(
      `${columns} WHERE s.custom_domain = ? AND s.domain_status = 'active' AND a.deployed = 1`,
    )
    this.domainActive = store.sqlite.prepare(
      "SELECT 1 AS one FROM sites WHERE custom_domain = ? AND domain_status = 'active'",
    )
  }

  siteBySlug(slug: string): HostedSite | null {
    return this.cached(`slug:${slug}`, () => this.hosted(this.bySlug.get(slug)))
  }

  siteByDomain(host: string): HostedSite | null {
    return this.cached(`domain:${host}`, () => this.hosted(this.byDomain.get(host)))
  }

  /** Whether an app has this custom domain verified (active): pending claims are never served. */
  isActive(host: string): boolean {
    return this.cached(`active:${host}`, () => this.domainActive.get(host) !== null)
  }

  /** True while the caches may be used; drops them when the hosting epoch moved. */
  private cacheUsable(): boolean {
    const epoch = this.store.epochs.current(EpochTopic.hosting)
    if (epoch !== this.cacheEpoch) {
      this.lookups.clear()
      this.files.clear()
      this.cachedBytes = 0
      this.cacheEpoch = epoch
    }
    return epoch !== null
  }

  private cached<T extends HostedSite | boolean | null>(key: string, read: () => T): T {
    if (!this.cacheUsable()) return read()
    if (this.lookups.has(key)) {
      const hit = this.lookups.get(key) as T
      // Self-check (CHECK_CACHES): a hit must equal what the rows say now.
      if (this.store.epochs.selfCheck && JSON.stringify(hit) !== JSON.stringify(read()))
        throw new Error('hosting changed without raising its epoch (db/change-epochs.ts)')
      return hit
    }
    const value = read()
    if (this.lookups.size >= MAX_CACHED_LOOKUPS) this.lookups.clear()
    this.lookups.set(key, value)
    return value
  }

  /** A published file's bytes (small ones from memory), or null when it is missing. */
  private async fileBytes(path: string): Promise<Uint8Array | Blob | null> {
    const usable = this.cacheUsable()
    const readAt = this.cacheEpoch
    const hit = usable ? this.files.get(path) : undefined
    if (hit) return hit
    const file = Bun.file(path)
    if (!(await file.exists())) return null
    if (!usable || file.size > MAX_CACHED_FILE_BYTES) return file
    const bytes = await file.bytes()
    if (this.cachedBytes + bytes.byteLength > MAX_CACHED_BYTES) {
      this.files.clear()
      this.cachedBytes = 0
    }
    // Only if the epoch did not move while reading: a deploy in between may have removed it.
    if (this.cacheUsable() && this.cacheEpoch === readAt) {
      this.files.set(path, bytes)
      this.cachedBytes += bytes.byteLength
    }
    return bytes
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
        manifest = JSON.parse(
          await readFile(join(versionDir(this.storage, site.appId, site.version), 'manifest.json'), 'utf8'),
        ) as VersionManifest
      } catch {
        return null
      }
      if (this.manifests.size > 1000) this.manifests.clear()
      this.manifests.set(key, manifest)
    }
    return manifest
  }

  /** Answers a path of a hosted site (`path` relative to the site root, without leading slash). */
  async serve(site: HostedSite, path: string, request: Request): Promise<Response> {
    const clean = path.replace(/^\/+/, '').replace(/\/+$/, '')
    const robots: Record<string, string> = site.searchIndexing ? {} : { 'x-robots-tag': 'noindex, nofollow' }
    if (clean.startsWith('.well-known/') && clean !== '.well-known/apple-app-site-association') {
      const name = clean.slice('.well-known/'.length)
      if (!isWellKnownFileName(name)) return notFoundPage()
      const file = Bun.file(wellKnownPath(this.storage, site.appId, name))
      if (!(await file.exists())) return notFoundPage()
      return new Response(file, {
        headers: {
          'content-type': WELL_KNOWN_TYPES[name] as string,
          'cache-control': CACHE_CONTROL,
          'x-content-type-options': 'nosniff',
          ...robots,
        },
      })
    }
    const fileName = ROUTES.get(clean)
    const manifest = fileName
      ? (this.manifests.get(`${site.appId}/${site.version}`) ?? (await this.manifest(site)))
      : null
    const entry = fileName ? manifest?.files[fileName] : undefined
    if (!fileName || !entry) return notFoundPage()
    // A beta invitation is never indexed, whatever the site's searchIndexing (render/site.ts too).
    if (fileName === PAGE_FILES.testflight.file) robots['x-robots-tag'] = 'noindex, nofollow'
    const headers: Record<string, string> = {
      'content-type': entry.contentType,
      etag: entry.etag,
      'cache-control': CACHE_CONTROL,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'strict-origin-when-cross-origin',
      ...robots,
    }
    if (entry.contentType.startsWith('text/html')) headers['content-security-policy'] = PAGE_CSP
    if (request.headers.get('if-none-match') === entry.etag)
      return new Response(null, { status: 304, headers })
    const body = await this.fileBytes(join(versionDir(this.storage, site.appId, site.version), fileName))
    return body ? new Response(body, { headers }) : notFoundPage()
  }
}
