import { describe, expect, it } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { SignJWT } from 'jose'
import { one } from '../../db/query'
import { users } from '../../db/tables'
import { SECOND } from '../../src/lib/clock'
import { createLogger } from '../../src/lib/logger'
import { lastResortResponse } from '../../src/plugins/error-envelope'
import { expectApiError, expectV1Error } from '../support/envelopes'
import { createTestApp, TEST_JWT_SECRET, type TestApp } from '../support/harness'

const deep = (depth: number, inner = '') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`
const noDns = { resolve4: async () => [], resolveCname: async () => [] }

async function appOf(t: TestApp, token: string) {
  return (await t.json('POST', '/api/apps', { token, body: { appName: 'Hardened' } })).body.appId as string
}

/** A body sent without Content-Length (chunked on the wire). */
const streamOf = (bytes: Uint8Array, chunk = 64 * 1024) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < bytes.length; at += chunk) controller.enqueue(bytes.slice(at, at + chunk))
      controller.close()
    },
  })

describe('1. deep JSON', () => {
  it('answers 400 in the dialect envelope for nesting past 32 levels, on both dialects', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const u = await t.createUser()
    const appId = await appOf(t, u.apiKey)
    const site = await t.json('PATCH', `/api/apps/${appId}/site`, {
      token: u.apiKey,
      rawBody: `{"appName":${deep(5000)}}`,
      headers: { 'content-type': 'application/json' },
    })
    expect(site.status).toBe(400)
    expect(site.headers.get('content-type')).toStartWith('application/json')
    // /api folds every malformed-request error into VALIDATION_FAILED (its documented vocabulary).
    expect(expectApiError(site.body, 'VALIDATION_FAILED').message).toContain('32 levels')

    let metadata = '"x"'
    for (let i = 0; i < 50_000; i++) metadata = `{"a":${metadata}}`
    const sandbox = await t.json('POST', '/v1/sandboxes', {
      token: await t.runtimeKey(u),
      rawBody: `{"template":"base","metadata":${metadata}}`,
      headers: { 'content-type': 'application/json', 'idempotency-key': 'deep-1' },
    })
    expect(sandbox.status).toBe(400)
    expectV1Error(sandbox.body, 'invalid_request', sandbox.headers)
    // 32 levels are fine (the limit is documented, not approximate).
    const fine = await t.json('PATCH', `/api/apps/${appId}/site`, {
      token: u.apiKey,
      rawBody: `{"smartBanner":${deep(31)}}`,
      headers: { 'content-type': 'application/json' },
    })
    // (Whatever the schema then says of it, it is not refused for its depth.)
    expect(JSON.stringify(fine.body)).not.toContain('levels')
  })

  it('never lets Bun answer with its error page: the server of last resort speaks JSON', async () => {
    const response = lastResortResponse()
    expect(response.status).toBe(500)
    expect(response.headers.get('content-type')).toBe('application/json')
    expect(await response.json()).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } })
    // serve() passes it to Bun.serve with development off, for the API and the TLS listener alike.
    const server = readFileSync(join(import.meta.dir, '../../src/server.ts'), 'utf8')
    expect(server).toContain('development: false, error: lastResortResponse')
    expect(server.match(/\.\.\.NO_ERROR_PAGES/g)).toHaveLength(2)
  })
})

describe('2. rate-limit refusals are never stored as idempotent outcomes', () => {
  it('runs a request refused with 429 again once the window has passed', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_APPS_CREATE: '1/5' } })
    const u = await t.createUser()
    const create = () =>
      t.json('POST', '/api/apps', {
        token: u.apiKey,
        body: { appName: 'Limited' },
        headers: { 'idempotency-key': 'rl-key-1' },
      })
    expect((await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: 'First' } })).status).toBe(
      201,
    )
    const refused = await create()
    expect(refused.status).toBe(429)
    t.clock.advance(11 * SECOND) // past the sliding window and the one before it
    const retried = await create()
    expect(retried.status).toBe(201)
    expect(retried.headers.get('idempotent-replayed')).toBeNull()
    // …and from now on the stored 201 is what the key replays.
    expect((await create()).headers.get('idempotent-replayed')).toBe('true')
  })
})

describe('3. custom domains capture nothing they do not own', () => {
  it('refuses private, reserved, IP-embedding and own names with VALIDATION_FAILED', async () => {
    const t = createTestApp({
      env: { RATE_LIMIT_ENABLED: 'false', RESERVED_DOMAINS: 'lb-health.example.com' },
    })
    t.deps.resolver = noDns
    const u = await t.createUser()
    const appId = await appOf(t, u.apiKey)
    for (const domain of [
      'www.custodian.test', // an alias under PUBLIC_URL's host
      'custodian.test',
      'lb-health.example.com', // RESERVED_DOMAINS
      'x.lb-health.example.com',
      'localhost.localdomain',
      'metadata.google.internal',
      'x.local',
      'printer.lan',
      'foo.127.0.0.1.nip.io',
      '10-0-0-1.sslip.io',
      'singlelabel',
      '1.2.3.4',
    ]) {
      const r = await t.json('PUT', `/api/apps/${appId}/site/domain`, { token: u.apiKey, body: { domain } })
      expect({ domain, status: r.status }).toEqual({ domain, status: 400 })
      expectApiError(r.body, 'VALIDATION_FAILED')
    }
  })

  it('serves nothing on a pending domain, never takes over API and health paths, and asks TLS only for active ones', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    t.deps.resolver = noDns
    const u = await t.createUser()
    const appId = await appOf(t, u.apiKey)
    expect(
      (
        await t.json('PUT', `/api/apps/${appId}/site/domain`, {
          token: u.apiKey,
          body: { domain: 'www.claimed.com' },
        })
      ).status,
    ).toBe(200)
    const onHost = (path: string, token?: string) =>
      t.request('GET', path, { token, headers: { host: 'www.claimed.com' } })
    expect((await onHost('/healthz')).status).toBe(200)
    expect((await onHost('/api/status', u.apiKey)).status).toBe(200)
    expect((await onHost('/v1/account/me', u.session)).status).toBe(200)
    const root = await onHost('/')
    expect(root.headers.get('content-type')).toStartWith('application/json') // the API's 404, no site
    expect((await t.request('GET', '/internal/tls/allowed?domain=www.claimed.com')).status).toBe(404)
  })
})

describe('4. a verified claim counts only for the email it names', () => {
  it('does not verify the stored address with a claim about another one', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const sub = crypto.randomUUID()
    const first = await t.session(sub, 'a@example.com', { verified: false })
    expect((await t.json('POST', '/v1/keys', { token: first, body: {} })).status).toBe(403)
    const second = await t.session(sub, 'b@example.com', { verified: true })
    await t.request('GET', '/v1/account/me', { token: second })
    const row = await one(t.store.orm.select().from(users).where(eq(users.id, sub)))
    expect(row?.email).toBe('a@example.com')
    expect(row?.emailVerifiedAt).toBeNull()
    const again = await t.json('POST', '/v1/keys', { token: first, body: {} })
    expect(again.status).toBe(403)
    expectV1Error(again.body, 'email_not_verified', again.headers)
    // A verified claim about the stored address does verify it.
    const third = await t.session(sub, 'a@example.com', { verified: true })
    expect((await t.json('POST', '/v1/keys', { token: third, body: {} })).status).toBe(201)
  })
})

describe('5. the body limit counts bytes read, declared or not', () => {
  for (const size of [2, 5])
    it(`answers 413 in the envelope for a ${size} MB body without Content-Length`, async () => {
      const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
      const u = await t.createUser()
      const appId = await appOf(t, u.apiKey)
      const body = new TextEncoder().encode(`{"appName":"${'x'.repeat(size * 1024 * 1024)}"}`)
      const response = await t.app.handle(
        new Request(`http://localhost/api/apps/${appId}/site`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${u.apiKey}`, 'content-type': 'application/json' },
          body: streamOf(body),
        }),
      )
      expect(response.status).toBe(413)
      expect(expectApiError(await response.json(), 'VALIDATION_FAILED').message).toContain('larger than')
    })

  it('does the same through a real socket (chunked transfer encoding)', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const u = await t.createUser()
    const appId = await appOf(t, u.apiKey)
    t.app.listen({ port: 0, hostname: '127.0.0.1', reusePort: false, maxRequestBodySize: 8 * 1024 * 1024 })
    try {
      const body = new TextEncoder().encode(`{"appName":"${'x'.repeat(2 * 1024 * 1024)}"}`)
      const response = await fetch(`http://127.0.0.1:${t.app.server?.port}/api/apps/${appId}/site`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${u.apiKey}`, 'content-type': 'application/json' },
        body: streamOf(body),
      })
      expect(response.status).toBe(413)
      expect(expectApiError(await response.json(), 'VALIDATION_FAILED').message).toContain('larger than')
    } finally {
      await t.app.stop(true)
    }
  })
})

describe('5b. a body cut short by the client', () => {
  it("is the client's error (a 400 logged as such), never an unhandled 500", async () => {
    const lines: string[] = []
    const t = createTestApp({
      env: { RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'info' },
      logger: createLogger('info', (line) => lines.push(line)),
    })
    const u = await t.createUser()
    t.app.listen({ port: 0, hostname: '127.0.0.1', reusePort: false })
    try {
      // Declares 100 bytes, sends 15, and hangs up.
      const socket = await Bun.connect({
        hostname: '127.0.0.1',
        port: t.app.server?.port as number,
        socket: { data() {} },
      })
      socket.write(
        `POST /api/apps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${u.apiKey}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"appName":"X"}`,
      )
      socket.end()
      const deadline = Date.now() + 5000
      const requestLine = () => lines.find((l) => l.includes('"/api/apps"') && l.includes('"status"'))
      while (!requestLine() && Date.now() < deadline) await Bun.sleep(10)
      expect(lines.filter((l) => l.includes('"level":"error"'))).toEqual([])
      expect(JSON.parse(requestLine() ?? '{}').status).toBe(400)
    } finally {
      await t.app.stop(true)
    }
  })
})

describe('6. input hygiene', () => {
  it('answers an HTTP/1.0 request without Host with 400 in the envelope, on any path', async () => {
    const t = createTestApp()
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (r) => t.app.handle(r) })
    try {
      for (const path of ['/api/status', '/v1/account/me', '/', '/some/site/page']) {
        let raw = ''
        await new Promise<void>((resolve, reject) => {
          Bun.connect({
            hostname: '127.0.0.1',
            port: server.port as number,
            socket: {
              open: (socket) => void socket.write(`GET ${path} HTTP/1.0\r\n\r\n`),
              data: (_socket, chunk) => {
                raw += new TextDecoder().decode(chunk)
              },
              close: () => resolve(),
              error: (_socket, error) => reject(error),
            },
          }).catch(reject)
        })
        const [head = '', body = ''] = raw.split('\r\n\r\n')
        expect({ path, status: head.split(' ')[1] }).toEqual({ path, status: '400' })
        expect(body).toContain('Host header is required')
        expect(body).not.toContain('    at ')
      }
    } finally {
      server.stop(true)
    }
  })

  it('refuses invalid UTF-8 and control characters instead of storing them', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const u = await t.createUser()
    const post = (rawBody: string | Uint8Array) =>
      t.json('POST', '/api/apps', {
        token: u.apiKey,
        rawBody,
        headers: { 'content-type': 'application/json' },
      })
    const invalid = new Uint8Array([
      ...new TextEncoder().encode('{"appName":"a'),
      0xff,
      0xfe,
      ...new TextEncoder().encode('"}'),
    ])
    const bad = await post(invalid)
    expect(bad.status).toBe(400)
    expect(expectApiError(bad.body, 'VALIDATION_FAILED').message).toContain('UTF-8')
    for (const appName of [
      'a\u0000b',
      '\u0000\u0000',
      'bell\u0007',
      'two\nlines',
      'Evil\u202Egnp.exe App',
      'iso\u2066late\u2069',
      'embed\u202Aded',
    ]) {
      const r = await post(JSON.stringify({ appName }))
      expect({ appName, status: r.status }).toEqual({ appName, status: 400 })
      expect(expectApiError(r.body, 'VALIDATION_FAILED').details[0].path).toEqual(['appName'])
    }
    // Multi-line text stays allowed where text is multi-line.
    const appId = await appOf(t, u.apiKey)
    const faq = await t.json('PUT', `/api/apps/${appId}/support-page`, {
      token: u.apiKey,
      body: {
        contactEmail: 'help@example.com',
        faqItems: [{ question: 'How?', answer: 'Line one.\nLine two.' }],
      },
    })
    expect(faq.status).toBe(200)
    const list = await t.json('GET', '/api/apps', { token: u.apiKey })
    expect(JSON.stringify(list.body)).not.toContain('\\u0000')
  })

  it('labels query validation errors with the query parameter, not the body', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const u = await t.createUser()
    const operator = await t.createUser({ operator: true })
    for (const [path, token] of [
      ['/v1/sandboxes?limit=0', await t.runtimeKey(u)],
      ['/v1/admin/users?limit=0', operator.session],
    ] as const) {
      const r = await t.json('GET', path, { token })
      expect(r.status).toBe(400)
      expect(r.body.error).toStartWith('Validation failed: limit:')
      expect(r.body.error_detail.fields[0].field).toBe('limit')
    }
  })
})

describe('7. AUTH_JWT_ISSUER', () => {
  it('accepts only the configured issuer when one is set', async () => {
    const issuer = 'https://project.supabase.co/auth/v1'
    const t = createTestApp({ env: { AUTH_JWT_ISSUER: issuer } })
    const token = (iss: string) =>
      new SignJWT({ email: 'iss@example.com', email_verified: true, role: 'authenticated' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(crypto.randomUUID())
        .setAudience('authenticated')
        .setIssuer(iss)
        .setIssuedAt(Math.floor(t.clock.now() / 1000))
        .setExpirationTime(Math.floor(t.clock.now() / 1000) + 3600)
        .sign(new TextEncoder().encode(TEST_JWT_SECRET))
    expect(
      (await t.request('GET', '/v1/account/me', { token: await token('https://evil.example') })).status,
    ).toBe(401)
    expect((await t.request('GET', '/v1/account/me', { token: await token(issuer) })).status).toBe(200)
  })
})

describe('8. /metrics is not public by default', () => {
  it('serves loopback scrapers only, unless METRICS_TOKEN or METRICS_PUBLIC says otherwise', async () => {
    const closed = createTestApp()
    expect((await closed.request('GET', '/metrics')).status).toBe(200) // in-process: local
    const relayed = await closed.request('GET', '/metrics', { headers: { 'x-forwarded-for': '203.0.113.9' } })
    expect(relayed.status).toBe(403)
    // Any header by which a proxy on loopback says it relays someone else.
    for (const [name, value] of [
      ['via', '1.1 proxy'],
      ['cf-connecting-ip', '203.0.113.9'],
      ['true-client-ip', '203.0.113.9'],
      ['x-forwarded-host', 'metrics.example'],
      ['x-client-ip', '203.0.113.9'],
      ['x-forwarded-proto', 'https'],
      ['x-some-vendor-client-ip', '203.0.113.9'],
    ] as const)
      expect({
        name,
        status: (await closed.request('GET', '/metrics', { headers: { [name]: value } })).status,
      }).toEqual({ name, status: 403 })
    const open = createTestApp({ env: { METRICS_PUBLIC: 'true' } })
    expect(
      (await open.request('GET', '/metrics', { headers: { 'x-forwarded-for': '203.0.113.9' } })).status,
    ).toBe(200)
    const token = 'metrics-token-0123456789'
    const withToken = createTestApp({ env: { METRICS_TOKEN: token } })
    const headers = { 'x-forwarded-for': '203.0.113.9' }
    expect((await withToken.request('GET', '/metrics', { headers })).status).toBe(401)
    expect((await withToken.request('GET', '/metrics', { headers, token })).status).toBe(200)
  })
})

describe('10. no test switch in the product', () => {
  it('reads no fault-injection variable anywhere under src/', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
      )
    for (const file of files(join(import.meta.dir, '../../src')))
      expect({ file, fault: /FAULT_PAUSE|TEST_PAUSE/.test(readFileSync(file, 'utf8')) }).toEqual({
        file,
        fault: false,
      })
  })
})
