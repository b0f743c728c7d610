import { expect } from 'bun:test'
import type { TestApp, TestUser } from './harness'
import { pngBytes } from './images'

/** A short random token that cannot occur by chance in a database file. */
export const marker = (label: string) => `${label}${crypto.randomUUID().replace(/-/g, '').slice(0, 12)}`

export interface RichAccount {
  u: TestUser
  appId: string
  runtimeKey: string
  sandboxId: string
  /** Every distinctive string of the account: what must be gone after an erasure. */
  strings: Record<string, string>
}

const ok = async (response: Promise<Response> | Response, label: string) => {
  const r = await response
  if (r.status >= 300) throw new Error(`${label}: ${r.status} ${await r.text()}`)
  return r
}

/**
 * An account with data in every place the server keeps it, all put in through HTTP: profile name,
 * an app (created with an Idempotency-Key), slug, custom homepage, policy, support page, icon,
 * well-known file, deploy, custom domain, keys of both dialects minted with Idempotency-Keys, a
 * sandbox with metadata. `tag` makes its strings unique to this account.
 */
export async function buildRichAccount(t: TestApp, tag: string): Promise<RichAccount> {
  const m = marker(tag)
  const email = `${m}-owner@example.com`
  const u = await t.createUser({ email })
  const api = { authorization: `Bearer ${u.apiKey}` }
  const session = { authorization: `Bearer ${u.session}` }
  const req = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    t.app.handle(
      new Request(`http://localhost${path}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    )

  const fullName = `${m} Fullname`
  await ok(
    req('PATCH', '/v1/account/me', { ...session, 'idempotency-key': `${m}-idem-me` }, { name: fullName }),
    'me',
  )
  const appName = `${m} App`
  const created = await ok(
    req('POST', '/api/apps', { ...api, 'idempotency-key': `${m}-idem-app` }, { appName }),
    'app',
  )
  const appId = ((await created.json()) as { appId: string }).appId
  const slug = `${m}-slug`.toLowerCase()
  const homepage = `${m}-homepage`
  await ok(
    req('PATCH', `/api/apps/${appId}/site`, api, { slug, customHomepageHtml: `<h1>${homepage}</h1>` }),
    'site',
  )
  const privacyEmail = `${m}-privacy@example.com`
  await ok(
    req('PUT', `/api/apps/${appId}/policy`, api, {
      'app-info': { app_name: appName, developer_name: `${m} Ltd`, email: privacyEmail },
      'data-collection': { collects_data: 'yes', data_types: ['email'], purposes: ['analytics'] },
      'third-party': { shares_data: [], third_party_list: '' },
      'data-retention': { retains_data: 'yes', retention_period: '12 months' },
      'children-tracking': { children_or_tracking: 'no', collects_from_children: [], uses_tracking: [] },
    }),
    'policy',
  )
  const supportEmail = `${m}-help@example.com`
  await ok(
    req('PUT', `/api/apps/${appId}/support-page`, api, {
      contactEmail: supportEmail,
      faqItems: [{ question: `${m} question?`, answer: 'Like this.' }],
    }),
    'support page',
  )
  await ok(
    t.app.handle(
      new Request(`http://localhost/api/apps/${appId}/site/icon`, {
        method: 'POST',
        headers: { ...api, 'content-type': 'image/png' },
        body: await pngBytes(64, 64),
      }),
    ),
    'icon',
  )
  const wellKnown = `${m}-wellknown`
  await ok(
    t.app.handle(
      new Request(`http://localhost/api/apps/${appId}/well-known/apple-developer-domain-association.txt`, {
        method: 'POST',
        headers: { ...api, 'content-type': 'text/plain' },
        body: wellKnown,
      }),
    ),
    'well-known',
  )
  await ok(req('POST', `/api/apps/${appId}/deploy`, api), 'deploy')
  const domain = `${m}.example.com`.toLowerCase()
  await ok(req('PUT', `/api/apps/${appId}/site/domain`, api, { domain }), 'domain')

  const apiKeyAnswer = await ok(
    req('POST', '/api/api-keys', { ...api, 'idempotency-key': `${m}-idem-key` }, { name: `${m} key` }),
    'api key',
  )
  const minted = (await apiKeyAnswer.json()) as { key: string }
  const runtimeAnswer = await ok(
    req('POST', '/v1/keys', { ...session, 'idempotency-key': `${m}-idem-rt` }, { name: `${m} runtime` }),
    'runtime key',
  )
  const runtimeKey = ((await runtimeAnswer.json()) as { key: string }).key
  const sandbox = await ok(
    req(
      'POST',
      '/v1/sandboxes',
      { authorization: `Bearer ${runtimeKey}`, 'idempotency-key': `${m}-idem-sbx` },
      { template: 'base', memory_mb: 256, metadata: { job: `${m}-job` } },
    ),
    'sandbox',
  )
  const sandboxId = ((await sandbox.json()) as { id: string }).id
  const keys = (await (await ok(req('GET', '/v1/keys', session), 'keys')).json()) as { prefix: string }[]
  expect(keys.length).toBeGreaterThan(0)
  const strings: Record<string, string> = {
    email,
    fullName,
    appName,
    slug,
    homepage,
    privacyEmail,
    supportEmail,
    wellKnown,
    domain,
    userId: u.user.id,
    apiKeyPrefix: minted.key.slice(0, 11),
    runtimeKeyPrefix: runtimeKey.slice(0, 16),
    sandboxMetadata: `${m}-job`,
    // The request bodies sent with Idempotency-Keys, as their stored answers would repeat them.
    idempotencyBody: `${m}-idem`,
  }
  keys.forEach((k, i) => {
    strings[`keyPrefix${i}`] = k.prefix
  })
  return { u, appId, runtimeKey, sandboxId, strings }
}
