import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { adoptSetHeaders, adoptSetHeadersOf } from '../../lib/adopt-headers'
import { andThen } from '../../lib/maybe-async'
import type { GateStep } from '../../plugins/request-gate'
import { stateOf } from '../../plugins/request-state'
import { isActiveDomain, publicHostOf } from '../../services/domains'
import { Hosting, notFoundPage } from './site-host'

const ACME_CHALLENGE = '/.well-known/acme-challenge/'

/** The request's host name, lower-cased, without port. */
function hostOf(request: Request): string {
  const host = request.headers.get('host') ?? new URL(request.url).host
  return host
    .replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
}

/**
 * Requests for an attached custom domain (chosen by Host) are the site's and nothing else's: they
 * never reach the API. ACME HTTP-01 challenges are answered on any host. Runs before rate limits
 * and auth — hosted pages are public.
 */
const SERVER_PATHS = [
  '/api',
  '/v1',
  '/healthz',
  '/readyz',
  '/metrics',
  '/docs',
  '/internal',
  '/files',
  '/sites',
]
const isServerPath = (path: string) => SERVER_PATHS.some((p) => path === p || path.startsWith(`${p}/`))

export function customDomainStep(deps: AppDeps, hosting: Hosting): GateStep {
  const publicHost = publicHostOf(deps.config.publicUrl)
  return ({ request, set }) => {
    const { path } = stateOf(request)
    if (path.startsWith(ACME_CHALLENGE)) {
      return deps.certificates
        .challengeResponse(path.slice(ACME_CHALLENGE.length))
        .then((answer) =>
          answer
            ? new Response(answer, { headers: { 'content-type': 'text/plain', 'cache-control': 'no-store' } })
            : notFoundPage(),
        )
    }
    // IMPORTANT: the API, health, docs and files paths answer whatever the Host; and only a
    // verified (active) domain is served at all — a pending claim captures nothing.
    if (isServerPath(path)) return
    const host = hostOf(request)
    if (host === publicHost) return
    return andThen(hosting.isActive(host, request), (active) => {
      if (!active) return undefined
      if (request.method !== 'GET' && request.method !== 'HEAD') return notFoundPage()
      return andThen(hosting.siteByDomain(host, request), (site) =>
        adoptSetHeadersOf(set, site ? hosting.serve(site, path, request) : notFoundPage()),
      )
    })
  }
}

/** Public hosting under <PUBLIC_URL>/sites/<slug>/, and the on-demand TLS check. */
export const hostingRoutes = (deps: AppDeps, hosting: Hosting) =>
  new Elysia()
    .get(
      '/sites/:slug',
      ({ params, request, set }) =>
        andThen(hosting.siteBySlug(params.slug, request), (site) => {
          if (!site) return adoptSetHeaders(set, notFoundPage())
          // Elysia matches /sites/x/ here too. Without the slash, relative page links would
          // resolve outside the site: send the browser to the canonical address.
          if (stateOf(request).path.endsWith('/'))
            return adoptSetHeadersOf(set, hosting.serve(site, '', request))
          return new Response(null, {
            status: 301,
            headers: { location: `/sites/${encodeURIComponent(params.slug)}/` },
          })
        }),
      { params: t.Object({ slug: t.String() }), detail: { hide: true } },
    )
    .get(
      '/sites/:slug/*',
      ({ params, request, set }) =>
        andThen(hosting.siteBySlug(params.slug, request), (site) =>
          adoptSetHeadersOf(set, site ? hosting.serve(site, params['*'], request) : notFoundPage()),
        ),
      { detail: { hide: true } },
    )
    .get(
      '/internal/tls/allowed',
      async ({ query }) =>
        query.domain && (await isActiveDomain(deps.store, query.domain))
          ? { allowed: true as const }
          : new Response(JSON.stringify({ allowed: false }), {
              status: 404,
              headers: { 'content-type': 'application/json' },
            }),
      {
        query: t.Object({ domain: t.Optional(t.String({ maxLength: 253 })) }),
        detail: {
          operationId: 'tlsAllowed',
          summary: "For a front proxy's on-demand TLS: 200 only for verified (active) custom domains",
          tags: ['system'],
          security: [],
          responses: { 200: { description: 'Active' }, 404: { description: 'Not an active custom domain' } },
        },
      },
    )

export { Hosting }
