import { describe, expect, it } from 'bun:test'
import { API_ERROR_CODES, V1_ERROR_CODES } from '../../src/errors'
import { expectApiError, expectV1Error } from '../support/envelopes'
import { createTestApp } from '../support/harness'

describe('error envelopes', () => {
  const t = createTestApp({ env: { MAX_BODY_BYTES: '2048' } })

  it('answers an unknown /api route with 404 in the /api envelope', async () => {
    const u = await t.createUser()
    const r = await t.json('GET', '/api/no-such-thing', { token: u.apiKey })
    expect(r.status).toBe(404)
    expectApiError(r.body, 'NOT_FOUND')
  })

  it('answers an unknown /v1 route with 404 in the /v1 envelope carrying the request id', async () => {
    const u = await t.createUser()
    const r = await t.json('GET', '/v1/account/nothing', { token: u.session })
    expect(r.status).toBe(404)
    expectV1Error(r.body, 'not_found', r.headers)
    expect(r.body.request_id).toMatch(/^req_/)
  })

  it('answers a wrong method with 405 and an Allow header in both dialects', async () => {
    const u = await t.createUser()
    const api = await t.json('PUT', '/api/api-keys', { token: u.apiKey })
    expect(api.status).toBe(405)
    expect(api.headers.get('allow')).toBe('GET, HEAD, POST')
    expectApiError(api.body, 'NOT_FOUND')
    const v1 = await t.json('PUT', '/v1/account/me', { token: u.session })
    expect(v1.status).toBe(405)
    expect(v1.headers.get('allow')).toContain('PATCH')
    expectV1Error(v1.body, 'not_found', v1.headers)
  })

  it('answers malformed JSON with 400 in both dialects', async () => {
    const u = await t.createUser()
    const headers = { 'content-type': 'application/json' }
    const api = await t.json('POST', '/api/api-keys', { token: u.apiKey, rawBody: '{"name":', headers })
    expect(api.status).toBe(400)
    expectApiError(api.body, 'VALIDATION_FAILED')
    const v1 = await t.json('PATCH', '/v1/account/me', { token: u.session, rawBody: '{oops}', headers })
    expect(v1.status).toBe(400)
    expectV1Error(v1.body, 'invalid_request', v1.headers)
  })

  it('answers a body of the wrong content type with 415', async () => {
    const u = await t.createUser()
    const r = await t.json('POST', '/api/api-keys', {
      token: u.apiKey,
      rawBody: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(r.status).toBe(415)
    expectApiError(r.body, 'VALIDATION_FAILED')
  })

  it('answers an oversized body with 413 before reading it', async () => {
    const u = await t.createUser()
    const big = JSON.stringify({ name: 'x'.repeat(5000) })
    const headers = { 'content-type': 'application/json', 'content-length': String(big.length) }
    const api = await t.json('POST', '/api/api-keys', { token: u.apiKey, rawBody: big, headers })
    expect(api.status).toBe(413)
    expectApiError(api.body, 'VALIDATION_FAILED')
    const v1 = await t.json('PATCH', '/v1/account/me', { token: u.session, rawBody: big, headers })
    expect(v1.status).toBe(413)
    expectV1Error(v1.body, 'invalid_request', v1.headers)
  })

  it('answers field validation with 400 and names the field in details', async () => {
    const u = await t.createUser()
    const api = await t.json('POST', '/api/api-keys', { token: u.apiKey, body: { name: 'x'.repeat(101) } })
    expect(api.status).toBe(400)
    const error = expectApiError(api.body, 'VALIDATION_FAILED')
    expect(error.details).toEqual([{ path: ['name'], message: expect.any(String) }])
    const v1 = await t.json('PATCH', '/v1/account/me', {
      token: u.session,
      body: { avatar_url: 'javascript:alert(1)' },
    })
    expect(v1.status).toBe(400)
    expectV1Error(v1.body, 'invalid_fields', v1.headers)
    expect(v1.body.error_detail.fields).toEqual([
      { field: 'avatar_url', message: expect.stringContaining('http(s) URL') },
    ])
  })

  it('answers an unexpected failure with 500 INTERNAL_ERROR and no internals', async () => {
    const broken = createTestApp()
    const u = await broken.createUser()
    await broken.exec('DROP TABLE subscriptions')
    const r = await broken.json('GET', '/api/status', { token: u.apiKey })
    expect(r.status).toBe(500)
    const error = expectApiError(r.body, 'INTERNAL_ERROR')
    expect(error.message).toContain(r.headers.get('x-request-id'))
    expect(r.text).not.toMatch(/subscriptions|SQL|at \w+ \(|\.ts:/i)
  })

  it('echoes a sane X-Request-Id and replaces an unsafe one', async () => {
    const sane = await t.request('GET', '/healthz', { headers: { 'x-request-id': 'trace-abc.123' } })
    expect(sane.headers.get('x-request-id')).toBe('trace-abc.123')
    const unsafe = await t.request('GET', '/healthz', { headers: { 'x-request-id': 'a b\tc' } })
    expect(unsafe.headers.get('x-request-id')).toMatch(/^req_[A-Za-z0-9]{20}$/)
    const long = await t.request('GET', '/healthz', { headers: { 'x-request-id': 'x'.repeat(200) } })
    expect(long.headers.get('x-request-id')).toMatch(/^req_/)
  })

  it('serves the error page every docUrl points to, with an anchor per code', async () => {
    const r = await t.request('GET', '/docs/errors')
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toContain('text/html')
    const html = await r.text()
    for (const code of API_ERROR_CODES)
      expect(html).toContain(`id="${code.toLowerCase().replace(/_/g, '-')}"`)
    for (const code of V1_ERROR_CODES) expect(html).toContain(`<code>${code}</code>`)
  })
})
