import { describe, expect, it } from 'bun:test'
import fc from 'fast-check'
import { createTestApp, type TestApp, type TestUser } from '../support/harness'
import { invalidValue, type Schema, validValue } from './schema-arbitrary'

/** At least this many requests (the issue's floor); FUZZ_RUNS raises it. */
const RUNS = Math.max(10_000, Number(process.env.FUZZ_RUNS ?? 0))
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

interface Operation {
  method: string
  path: string
  id: string
  params: { name: string; in: 'path' | 'query'; schema: Schema }[]
  body: Schema | null
  statuses: Set<number>
}

function operationsOf(document: any): Operation[] {
  const operations: Operation[] = []
  for (const [path, item] of Object.entries<any>(document.paths)) {
    if (!path.startsWith('/api') && !path.startsWith('/v1')) continue
    for (const method of METHODS) {
      const op = item[method]
      if (!op) continue
      operations.push({
        method: method.toUpperCase(),
        path,
        id: op.operationId,
        params: (op.parameters ?? []).filter((p: any) => p.in === 'path' || p.in === 'query'),
        body: op.requestBody?.content?.['application/json']?.schema ?? null,
        statuses: new Set(Object.keys(op.responses).map(Number)),
      })
    }
  }
  return operations
}

type Credential = 'api key' | 'session' | 'runtime key' | 'operator session' | 'none' | 'garbage'

/** The credential the route takes (docs/spec/traffic.md §1), so most requests get past authentication. */
function rightCredential(path: string): Credential {
  if (path.startsWith('/api')) return 'api key'
  if (path.startsWith('/v1/admin')) return 'operator session'
  if (path.startsWith('/v1/sandboxes')) return 'runtime key'
  return 'session'
}
type BodyKind =
  | 'valid'
  | 'invalid'
  | 'garbage JSON'
  | 'wrong content type'
  | 'none'
  | 'deep nesting'
  | 'invalid UTF-8'
  | 'control characters'
  | 'chunked oversize'

interface FuzzCase {
  operation: Operation
  pathValues: Record<string, string>
  query: Partial<Record<string, string>>
  credential: Credential
  bodyKind: BodyKind
  body: unknown
}

/** A user pool: erasure routes may delete a user mid-run; the pool replaces them. */
class Pool {
  private users: TestUser[] = []
  private runtimeKeys = new Map<string, string>()
  private operator!: TestUser
  constructor(private readonly t: TestApp) {}
  /** Ids that exist (the pool users' apps, sandboxes and ids), so path parameters often hit. */
  readonly knownIds: string[] = []
  async init() {
    for (let i = 0; i < 8; i++) this.users.push(await this.fresh())
    this.operator = await this.t.createUser({ operator: true })
  }
  private async fresh() {
    const u = await this.t.createUser()
    const runtime = await this.t.runtimeKey(u)
    this.runtimeKeys.set(u.user.id, runtime)
    const app = await this.t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Fuzz App' } })
    const sandbox = await this.t.json('POST', '/v1/sandboxes', {
      token: runtime,
      body: {},
      headers: { 'idempotency-key': crypto.randomUUID() },
    })
    this.knownIds.push(
      u.user.id,
      app.body.appId,
      sandbox.body.id,
      'privacy',
      'apple-developer-domain-association.txt',
    )
    return u
  }
  pick(index: number) {
    return this.users[index % this.users.length] as TestUser
  }
  token(credential: Credential, index: number): string | null {
    const u = this.pick(index)
    switch (credential) {
      case 'api key':
        return u.apiKey
      case 'session':
        return u.session
      case 'runtime key':
        return this.runtimeKeys.get(u.user.id) ?? null
      case 'operator session':
        return this.operator.session
      case 'garbage':
        return 'ok_garbage_garbage'
      default:
        return null
    }
  }
  async replace(index: number) {
    this.users[index % this.users.length] = await this.fresh()
  }
}

// '.' and '..' are not values: URL parsing removes them as path segments before any server sees them.
const randomPathValue = fc
  .oneof(
    fc.constant('-Nmissing0000000000'),
    fc.uuid(),
    fc.string({ minLength: 1, maxLength: 30 }),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
    fc.constant('sb_00000000000000000000'),
    fc.constant('%00'),
  )
  .filter((value) => value !== '.' && value !== '..')

function caseFor(operations: Operation[], knownIds: string[]): fc.Arbitrary<FuzzCase> {
  const pathValue = fc.oneof(fc.constantFrom(...knownIds), randomPathValue)
  return fc
    .record({
      operation: fc.constantFrom(...operations),
      anyCredential: fc.constantFrom<Credential>(
        'api key',
        'session',
        'runtime key',
        'operator session',
        'none',
        'garbage',
      ),
      useRightCredential: fc.constantFrom(true, true, true, false),
      bodyKind: fc.constantFrom<BodyKind>(
        'valid',
        'valid',
        'invalid',
        'garbage JSON',
        'wrong content type',
        'none',
        'deep nesting',
        'invalid UTF-8',
        'control characters',
        'chunked oversize',
      ),
    })
    .chain(({ operation, anyCredential, useRightCredential, bodyKind }) => {
      const credential = useRightCredential ? rightCredential(operation.path) : anyCredential
      return fc.record({
        operation: fc.constant(operation),
        credential: fc.constant(credential),
        bodyKind: fc.constant(bodyKind),
        pathValues: fc.record(
          Object.fromEntries(operation.params.filter((p) => p.in === 'path').map((p) => [p.name, pathValue])),
        ),
        query: fc.record(
          Object.fromEntries(
            operation.params
              .filter((p) => p.in === 'query')
              .map((p) => [p.name, fc.oneof(validValue(p.schema).map(String), fc.string({ maxLength: 12 }))]),
          ),
          { requiredKeys: [] },
        ),
        body:
          operation.body && bodyKind === 'valid'
            ? validValue(operation.body)
            : operation.body && bodyKind === 'invalid'
              ? invalidValue(operation.body)
              : fc.constant(undefined),
      })
    })
}

/** A JSON-looking body past MAX_BODY_BYTES (1 MiB), sent without Content-Length. */
function oversizeStream(): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode('x'.repeat(64 * 1024))
  let sent = 0
  return new ReadableStream({
    pull(controller) {
      if (sent === 0) controller.enqueue(new TextEncoder().encode('{"name":"'))
      if (sent > 1.2 * 1024 * 1024) return controller.close()
      controller.enqueue(chunk)
      sent += chunk.length
    },
  })
}

function requestOf(c: FuzzCase, token: string | null): Request {
  let path = c.operation.path
  for (const [name, value] of Object.entries(c.pathValues))
    path = path.replace(`{${name}}`, encodeURIComponent(value))
  const query = new URLSearchParams(c.query as Record<string, string>).toString()
  const headers: Record<string, string> = {}
  if (token) headers.authorization = `Bearer ${token}`
  let body: string | Uint8Array | ReadableStream<Uint8Array> | undefined
  const canHaveBody = c.operation.method !== 'GET'
  const json = (value: string | Uint8Array | ReadableStream<Uint8Array>) => {
    body = value
    headers['content-type'] = 'application/json'
  }
  if (canHaveBody)
    switch (c.bodyKind) {
      case 'valid':
      case 'invalid':
        if (c.body !== undefined) {
          body = JSON.stringify(c.body)
          headers['content-type'] = 'application/json'
        }
        break
      case 'garbage JSON':
        body = '{"unterminated": [1, 2'
        headers['content-type'] = 'application/json'
        break
      case 'wrong content type':
        body = 'a=1&b=2'
        headers['content-type'] = 'application/x-www-form-urlencoded'
        break
      // The hostile bodies go only to operations that take a JSON body (the statuses they
      // provoke, 400 and 413, are documented there).
      case 'deep nesting':
        if (c.operation.body) json(`{"name":${'['.repeat(3000)}${']'.repeat(3000)}}`)
        break
      case 'invalid UTF-8':
        if (c.operation.body)
          json(new Uint8Array([...new TextEncoder().encode('{"name":"a'), 0xc3, 0x28, 0xff, 0x22, 0x7d]))
        break
      case 'control characters':
        if (c.operation.body) json(JSON.stringify({ name: 'a\u0000b', appName: '\u0007', slug: 'x\u001by' }))
        break
      case 'chunked oversize':
        if (c.operation.body) json(oversizeStream())
        break
    }
  if (canHaveBody && c.operation.method !== 'DELETE') headers['idempotency-key'] = crypto.randomUUID()
  return new Request(`http://localhost${path}${query ? `?${query}` : ''}`, {
    method: c.operation.method,
    headers,
    body,
  })
}

function envelopeProblem(dialect: 'api' | 'v1', body: any): string | null {
  if (dialect === 'api') {
    if (!body?.error || typeof body.error.code !== 'string' || typeof body.error.message !== 'string')
      return 'not an /api error envelope'
    if (typeof body.error.docUrl !== 'string') return 'no docUrl'
    return null
  }
  if (typeof body?.error !== 'string' || typeof body.code !== 'string' || typeof body.request_id !== 'string')
    return 'not a /v1 error envelope'
  return null
}

describe('fuzzing every operation of /docs/json', () => {
  it(`answers ${RUNS.toLocaleString('en')} generated requests without a 5xx, in the envelope, with documented statuses`, async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const document = await (await t.request('GET', '/docs/json')).json()
    const operations = operationsOf(document)
    expect(operations.length).toBeGreaterThan(60)
    const pool = new Pool(t)
    await pool.init()
    const seenOperations = new Set<string>()
    const failures: string[] = []
    let sent = 0
    const byStatus = new Map<number, number>()
    await fc.assert(
      fc.asyncProperty(caseFor(operations, pool.knownIds), fc.nat(), async (c, who) => {
        const request = requestOf(c, pool.token(c.credential, who))
        const response = await t.app.handle(request)
        sent++
        seenOperations.add(c.operation.id)
        const status = response.status
        byStatus.set(status, (byStatus.get(status) ?? 0) + 1)
        const text = await response.text()
        const label = `${c.operation.method} ${request.url.slice(16)} (${c.operation.path}; ${c.credential}, ${c.bodyKind}) → ${status}`
        if (status >= 500) failures.push(`${label}: ${text.slice(0, 300)}`)
        if (!c.operation.statuses.has(status)) failures.push(`${label}: status not documented`)
        if (status >= 400) {
          let parsed: unknown = null
          try {
            parsed = JSON.parse(text)
          } catch {}
          const problem = envelopeProblem(c.operation.path.startsWith('/v1') ? 'v1' : 'api', parsed)
          if (problem) failures.push(`${label}: ${problem}: ${text.slice(0, 200)}`)
        }
        // A successful erasure ends a pool user: bring in a fresh one.
        const erasing = c.operation.method === 'DELETE' || c.operation.path === '/v1/account/delete'
        if (status < 300 && erasing && /account|users/.test(c.operation.path)) await pool.replace(who)
        return true // failures are collected, so one run reports every kind of problem
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261121) },
    )
    if (process.env.FUZZ_STATS) console.log(Object.fromEntries([...byStatus].sort(([a], [b]) => a - b)))
    // The run reaches handlers, not only the auth and validation in front of them.
    expect((byStatus.get(200) ?? 0) + (byStatus.get(201) ?? 0)).toBeGreaterThan(RUNS / 20)
    expect(failures.slice(0, 10)).toEqual([])
    expect(sent).toBeGreaterThanOrEqual(RUNS)
    expect(seenOperations.size).toBe(operations.length)
  }, 120_000)
})
