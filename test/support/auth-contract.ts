import { expect } from 'bun:test'
import { generateKeyPair, SignJWT } from 'jose'
import { credentialRuleFor } from '../../src/plugins/bearer-auth'
import type { TestApp, TestUser } from './harness'

export interface ProtectedRoute {
  method: string
  path: string
  dialect: 'api' | 'v1'
  rule: NonNullable<ReturnType<typeof credentialRuleFor>>
}

const PLACEHOLDER_ID = '01900000-0000-7000-8000-000000000000'

/** Every protected route the app mounts, with its parameters filled in. */
export function protectedRoutes(t: TestApp): ProtectedRoute[] {
  const seen = new Set<string>()
  const routes: ProtectedRoute[] = []
  for (const route of t.app.routes) {
    if (route.method === 'HEAD' || route.method === 'ALL') continue
    const path =
      route.path
        .replace(/:[A-Za-z_]+/g, PLACEHOLDER_ID)
        .replace(/\*/g, 'x')
        .replace(/\/$/, '') || '/'
    const rule = credentialRuleFor(path)
    if (!rule) continue
    const id = `${route.method} ${path}`
    if (seen.has(id)) continue
    seen.add(id)
    routes.push({ method: route.method, path, dialect: path.startsWith('/v1') ? 'v1' : 'api', rule })
  }
  return routes
}

export async function expectUnauthorized(response: Response, dialect: 'api' | 'v1', label: string) {
  const body = (await response.json()) as any
  expect({ label, status: response.status }).toEqual({ label, status: 401 })
  expect(response.headers.get('www-authenticate') ?? '').toStartWith('Bearer')
  if (dialect === 'api') expect({ label, code: body.error?.code }).toEqual({ label, code: 'UNAUTHORIZED' })
  else expect({ label, code: body.code }).toEqual({ label, code: 'unauthorized' })
}

export function send(t: TestApp, route: ProtectedRoute, authorization?: string) {
  const headers: Record<string, string> = {}
  if (authorization !== undefined) headers.authorization = authorization
  const hasBody = route.method !== 'GET' && route.method !== 'DELETE'
  return t.request(route.method, route.path, { headers, ...(hasBody ? { body: {} } : {}) })
}

/** Tokens that must never authenticate anywhere. */
export async function invalidCredentials(t: TestApp, victim: TestUser) {
  const now = Math.floor(t.clock.now() / 1000)
  const sign = (claims: Record<string, unknown>, secret = 'wrong-secret-0123456789abcdef') =>
    new SignJWT({ email: victim.user.email, ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(victim.user.id)
      .setAudience('authenticated')
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(new TextEncoder().encode(secret))
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const { privateKey } = await generateKeyPair('RS256')
  const rs256 = await new SignJWT({ email: victim.user.email })
    .setProtectedHeader({ alg: 'RS256' })
    .setSubject(victim.user.id)
    .setAudience('authenticated')
    .setExpirationTime(now + 3600)
    .sign(privateKey)
  return {
    'malformed: Basic scheme': `Basic ${Buffer.from('a:b').toString('base64')}`,
    'malformed: Bearer without token': 'Bearer',
    'malformed: two tokens': `Bearer ${victim.apiKey} extra`,
    'malformed: garbage token': 'Bearer not-a-token',
    'unknown ok_ key': 'Bearer ok_AAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBB',
    'unknown ns_live_ key': `Bearer ns_live_${'0'.repeat(32)}`,
    'JWT with a wrong signature': `Bearer ${await sign({})}`,
    'JWT with alg none': `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: victim.user.id, aud: 'authenticated', exp: now + 3600, email: victim.user.email })}.`,
    'JWT signed RS256 with no JWKS configured': `Bearer ${rs256}`,
    'expired JWT': `Bearer ${await t.session(victim.user.id, victim.user.email, { issuedAt: t.clock.now() - 7200_000, ttlMs: 3600_000 })}`,
    'JWT for another audience': `Bearer ${await t.session(victim.user.id, victim.user.email, { audience: 'service_role' })}`,
  }
}
