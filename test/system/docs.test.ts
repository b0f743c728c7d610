import { describe, expect, it } from 'bun:test'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { credentialRuleFor } from '../../src/plugins/bearer-auth'
import { EVENT_TYPES } from '../../src/services/events'
import { createTestApp } from '../support/harness'

const t = createTestApp()
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

describe('API documentation', () => {
  it('serves the UI page with its assets from this server, never a CDN', async () => {
    const page = await (await t.request('GET', '/docs')).text()
    expect(page).toContain('/docs/assets/swagger-ui-bundle.js')
    expect(page).toContain('/docs/assets/swagger-ui.css')
    expect(page).not.toMatch(/unpkg|jsdelivr|cdn\./)
    const js = await t.request('GET', '/docs/assets/swagger-ui-bundle.js')
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toContain('javascript')
    expect((await js.arrayBuffer()).byteLength).toBeGreaterThan(100_000)
    const css = await t.request('GET', '/docs/assets/swagger-ui.css')
    expect(css.headers.get('content-type')).toContain('text/css')
  })

  it('serves OpenAPI 3.1 at /docs/json, and says on the page why the UI shows a 3.0 rendition', async () => {
    const t = createTestApp()
    expect((await t.json('GET', '/docs/json')).body.openapi).toMatch(/^3\.1\./)
    const ui = (await t.json('GET', '/docs/ui.json')).body
    expect(ui.openapi).toBe('3.0.3')
    expect(ui.info.description).toContain('OpenAPI 3.1, at [/docs/json](/docs/json)')
  })

  it('describes every route with an operationId, summary, tag, security and error responses', async () => {
    const doc = (await (await t.request('GET', '/docs/json')).json()) as any
    expect(doc.openapi).toMatch(/^3\./)
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    const operationIds = new Set<string>()
    let operations = 0
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const method of METHODS) {
        const op = item[method]
        if (!op) continue
        operations++
        const label = `${method.toUpperCase()} ${path}`
        expect({ label, operationId: typeof op.operationId }).toEqual({ label, operationId: 'string' })
        expect(operationIds.has(op.operationId)).toBe(false)
        operationIds.add(op.operationId)
        expect(op.summary?.length ?? 0).toBeGreaterThan(3)
        expect(op.tags?.length ?? 0).toBeGreaterThan(0)
        for (const [status, shared] of Object.entries<any>(op.responses)) {
          const response = shared.$ref ? doc.components.responses[shared.$ref.split('/').pop()] : shared
          expect({ label, status, description: typeof response?.description }).toEqual({
            label,
            status,
            description: 'string',
          })
        }
        const inApi = path.startsWith('/api') || path.startsWith('/v1')
        if (inApi && credentialRuleFor(path) === null) {
          // Public inside an API surface (the Stripe webhook: its signature is the credential).
          expect({ label, security: op.security }).toEqual({ label, security: [] })
          expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['400', '500']))
        } else if (inApi) {
          expect({ label, security: op.security }).toEqual({ label, security: [{ bearerAuth: [] }] })
          expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '429', '500']))
        }
      }
    }
    // Every mounted API route is documented.
    const mounted = t.app.routes.filter(
      (r) => r.method !== 'HEAD' && (r.path.startsWith('/api') || r.path.startsWith('/v1')),
    )
    expect(operations).toBeGreaterThanOrEqual(mounted.length)
  })

  it('describes every webhook event as an OpenAPI 3.1 webhook: Standard Webhooks headers and its data', async () => {
    const t = createTestApp()
    const doc = (await t.json('GET', '/docs/json')).body
    expect(Object.keys(doc.webhooks).sort()).toEqual([...EVENT_TYPES].sort())
    for (const type of EVENT_TYPES) {
      const post = doc.webhooks[type].post
      expect(post.parameters.map((p: any) => p.name)).toEqual([
        'webhook-id',
        'webhook-timestamp',
        'webhook-signature',
      ])
      const schema = post.requestBody.content['application/json'].schema
      const envelope = schema.$ref ? doc.components.schemas[schema.$ref.split('/').pop()] : schema
      expect(Object.keys(envelope.properties)).toEqual(['id', 'type', 'created_at', 'data'])
      expect(JSON.stringify(envelope.properties.data)).not.toContain('email"')
    }
    // The 3.0 rendition the page draws has none (3.0 has no webhooks).
    expect((await t.json('GET', '/docs/ui.json')).body.webhooks).toBeUndefined()
  })

  it('is compact: shared schemas and responses live in components, under 250 KB, compressed on request', async () => {
    const plain = await t.request('GET', '/docs/json')
    const text = await plain.text()
    expect(text.length).toBeLessThan(250 * 1024)
    const doc = JSON.parse(text)
    expect(doc.components.schemas.ApiError).toBeDefined()
    expect(doc.components.schemas.V1Error).toBeDefined()
    expect(doc.components.responses.ApiError401.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/ApiError',
    })
    // No schema of 120+ characters is written out twice.
    const seen = new Map<string, number>()
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk)
      else if (node && typeof node === 'object') {
        const json = JSON.stringify(node)
        if ((node as any).type === 'object' && json.length >= 120) seen.set(json, (seen.get(json) ?? 0) + 1)
        Object.values(node).forEach(walk)
      }
    }
    walk(doc.paths)
    expect([...seen.values()].filter((n) => n > 1)).toEqual([])
    for (const [encoding, decode] of [
      ['br', (b: Buffer) => brotliDecompressSync(b)],
      ['gzip', (b: Buffer) => gunzipSync(b)],
    ] as const) {
      for (const path of ['/docs/json', '/docs/assets/swagger-ui-bundle.js']) {
        const r = await t.request('GET', path, { headers: { 'accept-encoding': `${encoding}, deflate` } })
        expect({ path, encoding: r.headers.get('content-encoding') }).toEqual({ path, encoding })
        expect(r.headers.get('vary')).toContain('Accept-Encoding')
        const body = decode(Buffer.from(await r.arrayBuffer())).toString('utf8')
        if (path === '/docs/json') expect(body).toBe(text)
        else expect(body.length).toBeGreaterThan(100_000)
      }
    }
  })
})
