import type { Statement } from 'bun:sqlite'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
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

export class Hosting {
  private readonly bySlug: Statement<HostedRow, [string]>
  private readonly byDomain: Statement<HostedRow, [string]>
  private readonly domainActive: Statement<{ one: number }, [string]>
  private readonly manifests = new Map<string, VersionManifest>()

  constructor(
    store: Store,
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
    return this.hosted(this.bySlug.get(slug))
  }

  siteByDomain(host: string): HostedSite | null {
    return this.hosted(this.byDomain.get(host))
  }

  /** Whether an app has this custom domain verified (active): pending claims are never served. */
  isActive(host: string): boolean {
    return this.domainActive.get(host) !== null
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
    const manifest = fileName ? await this.manifest(site) : null
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
    const file = Bun.file(join(versionDir(this.storage, site.appId, site.version), fileName))
    if (!(await file.exists())) return notFoundPage()
    return new Response(file, { headers })
  }
}
