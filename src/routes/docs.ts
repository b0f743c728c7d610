import { readFileSync } from 'node:fs'
import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import swaggerCss from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' }
import swaggerJs from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' }
import pkg from '../../package.json'
import { API_ERROR_CODES, docAnchor, ERROR_CATALOGUE, type ErrorCode, V1_ERROR_CODES } from '../errors'
import { CompressedBody } from '../lib/compressed'
import { restoreFastFormats } from '../lib/formats'
import { webhooksDocument } from '../projections/webhook-events'
import { polishOpenApi, toOpenApi30ForDisplay } from './openapi-document'

restoreFastFormats()

const ASSET_CACHE = 'public, max-age=86400'

/**
 * `/docs` (Swagger UI), `/docs/json` (OpenAPI 3.1) and `/docs/errors` (what every `docUrl`
 * points to). The UI's script and stylesheet are served from the swagger-ui-dist package, embedded
 * in the binary: the default page loads them from a CDN and renders blank offline.
 */
export const docsRoutes = (root: () => { handle(request: Request): Promise<Response> }) => {
  // The plugin caches its document until routes change; the polished copy follows it.
  let source: unknown
  let polished: { document: CompressedBody; display: CompressedBody } | undefined
  const body = (value: unknown) => {
    const text = JSON.stringify(value)
    return new CompressedBody(() => new TextEncoder().encode(text), { 'content-type': 'application/json' })
  }
  const documents = (generated: unknown) => {
    if (generated !== source || !polished) {
      source = generated
      const document = polishOpenApi(generated as Record<string, unknown>)
      polished = { document: body(document), display: body(toOpenApi30ForDisplay(document)) }
    }
    return polished
  }
  return new Elysia()
    .onAfterHandle(({ path, responseValue, request }) => {
      if (path !== '/docs/json' || !responseValue || typeof responseValue !== 'object') return
      return documents(responseValue).document.respond(request)
    })
    .use(
      openapi({
        path: '/docs',
        specPath: '/docs/json',
        provider: 'swagger-ui',
        // By default the plugin drops every path with a dot as a "static file": that hid
        // /api/apps/{appId}/privacy-manifest.xcprivacy. Assets are hidden by their own detail.
        exclude: { staticFile: false },
        swagger: {
          cdn: '/docs/assets/swagger-ui-bundle.js',
          theme: '/docs/assets/swagger-ui.css',
          // Swagger UI reads a 3.0 rendition of the same document (see toOpenApi30ForDisplay).
          url: '/docs/ui.json',
          // The Models section would render every shared schema before the page settles; each
          // operation still shows its schemas.
          defaultModelsExpandDepth: -1,
          syntaxHighlight: false,
          validatorUrl: null,
        } as never,
        documentation: {
          info: {
            title: 'Custodian API',
            version: pkg.version,
            description:
              'Account control plane with two dialects over one store: `/api` (camelCase, epoch milliseconds) and `/v1` (snake_case, RFC 3339). Error codes: [/docs/errors](/docs/errors).',
          },
          // Relative: the document is served by the server it describes, whatever its address.
          servers: [{ url: '/', description: 'This Custodian server' }],
          // What Custodian sends to webhook endpoints (docs/webhooks.md).
          webhooks: webhooksDocument(),
          components: {
            securitySchemes: {
              bearerAuth: {
                type: 'http',
                scheme: 'bearer',
                description: '`ok_…` keys (/api), `ns_live_…` keys (/v1 sandboxes), or a session JWT.',
              },
            },
          },
        },
      }),
    )
    .get('/docs/assets/swagger-ui-bundle.js', ({ request }) => assets.script.respond(request), {
      detail: { hide: true },
    })
    .get('/docs/assets/swagger-ui.css', ({ request }) => assets.style.respond(request), {
      detail: { hide: true },
    })
    .get(
      '/docs/ui.json',
      async ({ request }) => {
        // The plugin makes the document from the whole app: ask the app for it once.
        if (!polished) await root().handle(new Request('http://localhost/docs/json'))
        return (polished as NonNullable<typeof polished>).display.respond(request)
      },
      { detail: { hide: true } },
    )
    .get(
      '/docs/errors',
      () => new Response(errorsPage(), { headers: { 'content-type': 'text/html; charset=utf-8' } }),
      {
        detail: { hide: true },
      },
    )
}

/** Read from the package (embedded in the binary) on first request, then served from memory. */
const asset = (path: string, contentType: string) =>
  new CompressedBody(() => new Uint8Array(readFileSync(path)), {
    'content-type': contentType,
    'cache-control': ASSET_CACHE,
  })
const assets = {
  script: asset(swaggerJs, 'text/javascript; charset=utf-8'),
  style: asset(swaggerCss, 'text/css; charset=utf-8'),
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

let cachedPage: string | undefined
function errorsPage(): string {
  if (cachedPage) return cachedPage
  const entries = Object.entries(ERROR_CATALOGUE) as [ErrorCode, (typeof ERROR_CATALOGUE)[ErrorCode]][]
  const apiRows = API_ERROR_CODES.map((code) => {
    const uses = entries.filter(([, m]) => m.api[0] === code)
    const statuses = [...new Set(uses.map(([, m]) => m.api[1]))].join(', ')
    const meaning = uses.map(([, m]) => m.meaning).join(' ')
    return `<tr id="${docAnchor(code)}"><td><code>${code}</code></td><td>${statuses}</td><td>${escapeHtml(meaning)}</td></tr>`
  }).join('\n')
  const v1Rows = V1_ERROR_CODES.map((code) => {
    const uses = entries.filter(([, m]) => m.v1[0] === code)
    const statuses = [...new Set(uses.map(([, m]) => m.v1[1]))].join(', ')
    const meaning = uses.map(([, m]) => m.meaning).join(' ')
    return `<tr id="v1-${docAnchor(code)}"><td><code>${code}</code></td><td>${statuses}</td><td>${escapeHtml(meaning)}</td></tr>`
  }).join('\n')
  cachedPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Custodian error codes</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}tr:target{background:#fff6bf}</style>
</head><body>
<h1>Error codes</h1>
<p>Every error answers in its dialect's envelope. <code>/api</code>: <code>{"error":{"code","message","docUrl","details"}}</code>. <code>/v1</code>: <code>{"error","code","error_detail","request_id"}</code>. Every response carries <code>X-Request-Id</code>.</p>
<h2>Limits on request bodies</h2>
<ul>
<li>At most <code>MAX_BODY_BYTES</code> (1 MiB by default; icon uploads 4 MB before their own 2 MB check), counted on the bytes actually received, chunked bodies included: 413.</li>
<li>JSON bodies must be valid UTF-8 and nest arrays and objects at most 32 levels deep: 400.</li>
<li>No string may contain control characters (U+0000–U+001F other than tab, line feed and carriage return, and U+007F); names, slugs, emails and domains must also be a single line: 400 naming the field.</li>
</ul>
<h2>/api codes</h2>
<table><thead><tr><th>code</th><th>status</th><th>meaning</th></tr></thead><tbody>
${apiRows}
</tbody></table>
<h2>/v1 codes</h2>
<table><thead><tr><th>code</th><th>status</th><th>meaning</th></tr></thead><tbody>
${v1Rows}
</tbody></table>
</body></html>`
  return cachedPage
}
