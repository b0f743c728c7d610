import { describe, expect, it } from 'bun:test'
import { createTestApp, type TestApp } from '../support/harness'

interface Schema {
  type?: string
  properties?: Record<string, Schema>
  items?: Schema
  anyOf?: Schema[]
  required?: string[]
}

/** TypeBox's own wording, which must never reach a client. */
const TYPEBOX_WORDING = /Expected|union value|required property|Unexpected property|Could not create/i

/** A value of the wrong JSON type for `schema`. */
function wrongFor(schema: Schema): unknown[] {
  const types = new Set((schema.anyOf ?? [schema]).map((s) => s.type))
  const candidates: unknown[] = [12345, 'not-this', true, { nested: 1 }, ['x']]
  const typeOf = (v: unknown) =>
    Array.isArray(v)
      ? 'array'
      : typeof v === 'number'
        ? 'number'
        : typeof v === 'object'
          ? 'object'
          : typeof v
  return candidates.filter((v) => !types.has(typeOf(v)) && !(typeOf(v) === 'number' && types.has('integer')))
}

/** Bodies that each break one property (top level and one level down), plus an empty one. */
function brokenBodies(body: Schema): unknown[] {
  const bodies: unknown[] = [{}]
  for (const [name, prop] of Object.entries(body.properties ?? {})) {
    for (const wrong of wrongFor(prop).slice(0, 2)) bodies.push({ [name]: wrong })
    const inner = prop.anyOf?.find((s) => s.type === 'object' || s.type === 'array') ?? prop
    if (inner.type === 'object')
      for (const [child, childSchema] of Object.entries(inner.properties ?? {}))
        for (const wrong of wrongFor(childSchema).slice(0, 1)) bodies.push({ [name]: { [child]: wrong } })
    if (inner.type === 'array' && inner.items) {
      for (const wrong of wrongFor(inner.items).slice(0, 1)) bodies.push({ [name]: [wrong] })
      if (inner.items.type === 'object')
        for (const [child, childSchema] of Object.entries(inner.items.properties ?? {}))
          for (const wrong of wrongFor(childSchema).slice(0, 1)) bodies.push({ [name]: [{ [child]: wrong }] })
    }
  }
  return bodies
}

async function credentials(t: TestApp) {
  const u = await t.createUser()
  const operator = await t.createUser({ operator: true })
  const runtime = await t.runtimeKey(u)
  return (path: string) =>
    path.startsWith('/api/')
      ? u.apiKey
      : path.startsWith('/v1/admin')
        ? operator.session
        : path.startsWith('/v1/sandboxes')
          ? runtime
          : u.session
}

/** Every message a validation error carries, in either dialect. */
function messagesOf(body: any): string[] {
  if (body?.error && typeof body.error === 'object')
    return [body.error.message, ...(body.error.details ?? []).map((d: { message: string }) => d.message)]
  return [body?.error, ...(body?.error_detail?.fields ?? []).map((f: { message: string }) => f.message)]
}

describe('validation messages', () => {
  it('never use TypeBox wording, for any field of any /api or /v1 body schema', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const tokenFor = await credentials(t)
    const document = (await (await t.request('GET', '/docs/json')).json()) as {
      paths: Record<string, Record<string, any>>
    }
    let checked = 0
    const offenders: string[] = []
    for (const [path, operations] of Object.entries(document.paths as Record<string, Record<string, any>>))
      for (const [method, operation] of Object.entries(operations)) {
        const schema = operation.requestBody?.content?.['application/json']?.schema as Schema | undefined
        if (schema?.type !== 'object') continue
        const url = path.replace(/\{[^}]+\}/g, 'x0000000000')
        for (const body of brokenBodies(schema)) {
          const r = await t.json(method.toUpperCase(), url, {
            token: tokenFor(path),
            body,
            headers: { 'idempotency-key': crypto.randomUUID() },
          })
          if (r.status !== 400) continue
          checked++
          for (const message of messagesOf(r.body))
            if (typeof message === 'string' && TYPEBOX_WORDING.test(message))
              offenders.push(`${method.toUpperCase()} ${path} ${JSON.stringify(body)}: ${message}`)
        }
      }
    expect(checked).toBeGreaterThan(100)
    expect(offenders).toEqual([])
  })

  it('names every failing field in one message, with one detail per problem', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const u = await t.createUser()
    const appId = (await t.json('POST', '/api/apps', { token: u.apiKey, body: { appName: 'Two' } })).body
      .appId
    const r = await t.json('PUT', `/api/apps/${appId}/support-page`, {
      token: u.apiKey,
      body: { contactEmail: 'not an email', faqItems: [{ question: '', answer: 'a' }] },
    })
    expect(r.status).toBe(400)
    const { message, details } = r.body.error
    expect(message).toStartWith('Validation failed: 2 problems: ')
    expect(message).toContain('contactEmail must be an email address')
    expect(message).toContain('faqItems[0].question must be')
    expect(details.map((d: { path: unknown[] }) => d.path)).toEqual([
      ['contactEmail'],
      ['faqItems', 0, 'question'],
    ])
    const testflight = await t.json('PUT', `/api/apps/${appId}/testflight-page`, {
      token: u.apiKey,
      body: { enabled: true, testFlightUrl: 'https://example.com/nope' },
    })
    expect(testflight.status).toBe(400)
    expect(testflight.body.error.message).not.toMatch(TYPEBOX_WORDING)
    expect(testflight.body.error.message).toContain('testFlightUrl')
  })
})
