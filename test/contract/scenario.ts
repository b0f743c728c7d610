import { expect } from 'bun:test'
import createClient from 'openapi-fetch'
import type { paths } from './openapi'

export interface ScenarioTarget {
  baseUrl: string
  /** How requests reach the server (in-process `app.handle`, or real HTTP). */
  fetch: (request: Request) => Promise<Response>
  /** Every response passes through here (the contract proxy checks its violation header). */
  inspect?: (response: Response, label: string) => void
}

/**
 * A client's whole journey through the typed client generated from /docs/json (openapi-typescript
 * + openapi-fetch): create a key, create an app, set every page, deploy, export, delete; and on
 * /v1 a key, a sandbox and an export. Bodies are typed: `tsc` rejects one the document does not
 * allow (see the @ts-expect-error below).
 */
export async function runScenario(target: ScenarioTarget, credentials: { apiKey: string; session: string }) {
  const client = createClient<paths>({ baseUrl: target.baseUrl, fetch: target.fetch })
  const seen = async <T extends { response: Response }>(label: string, call: Promise<T>): Promise<T> => {
    const result = await call
    target.inspect?.(result.response, label)
    return result
  }
  const as = (token: string) => ({ authorization: `Bearer ${token}` })

  // /api: a key of its own, then everything with it.
  const key = await seen(
    'createApiKey',
    client.POST('/api/api-keys', { headers: as(credentials.apiKey), body: { name: 'typed client' } }),
  )
  expect(key.response.status).toBe(201)
  const apiKey = key.data?.key as string
  expect(apiKey).toMatch(/^ok_/)
  const api = as(apiKey)

  const app = await seen(
    'createApp',
    client.POST('/api/apps', { headers: api, body: { appName: 'Typed App' } }),
  )
  expect(app.response.status).toBe(201)
  const appId = app.data?.appId as string
  const params = { path: { appId } }

  const policy = await seen(
    'putPolicy',
    client.PUT('/api/apps/{appId}/policy', {
      headers: api,
      params,
      body: {
        'app-info': { app_name: 'Typed App', developer_name: 'Typed Ltd', email: 'privacy@typed.example' },
        'data-collection': { collects_data: 'yes', data_types: ['email'], purposes: ['analytics'] },
        'third-party': { shares_data: [], third_party_list: '' },
        'data-retention': { retains_data: 'yes', retention_period: '12 months' },
        'children-tracking': { children_or_tracking: 'no', collects_from_children: [], uses_tracking: [] },
      },
    }),
  )
  expect(policy.response.status).toBe(200)
  const pages = [
    await seen(
      'putSupportPage',
      client.PUT('/api/apps/{appId}/support-page', {
        headers: api,
        params,
        body: {
          contactEmail: 'help@typed.example',
          contactAddress: {
            street: '1 Main St',
            city: 'Springfield',
            state: 'IL',
            zip: '62701',
            country: 'US',
          },
          faqItems: [{ question: 'How?', answer: 'Like this.' }],
        },
      }),
    ),
    await seen(
      'putDeletionPage',
      client.PUT('/api/apps/{appId}/deletion-page', {
        headers: api,
        params,
        body: {
          supportsAccounts: true,
          deletionEmail: 'delete@typed.example',
          deletionSteps: ['Settings', 'Delete'],
        },
      }),
    ),
    await seen(
      'putTestflightPage',
      client.PUT('/api/apps/{appId}/testflight-page', {
        headers: api,
        params,
        body: { enabled: true, testFlightUrl: 'https://testflight.apple.com/join/AbCd1234' },
      }),
    ),
    await seen(
      'putAasa',
      client.PUT('/api/apps/{appId}/aasa', {
        headers: api,
        params,
        body: {
          universalLinks: { appIDs: ['ABCDE12345.com.typed.app'], paths: [{ pattern: '/items/*' }] },
          appClips: null,
          webCredentials: null,
          activityContinuation: null,
        },
      }),
    ),
  ]
  expect(pages.map((p) => p.response.status)).toEqual([200, 200, 200, 200])

  const manifest = await seen(
    'savePrivacyManifest',
    client.PUT('/api/apps/{appId}/privacy-manifest', {
      headers: api,
      params,
      body: {
        tracking: false,
        dataTypes: [
          {
            type: 'NSPrivacyCollectedDataTypeEmailAddress',
            linkedToUser: true,
            purposes: ['NSPrivacyCollectedDataTypePurposeAppFunctionality'],
          },
        ],
        accessedApiTypes: [{ category: 'NSPrivacyAccessedAPICategoryUserDefaults', reasons: ['CA92.1'] }],
      },
    }),
  )
  expect(manifest.data?.source).toBe('saved')
  const synced = await seen(
    'syncPrivacyManifestFromWizard',
    client.POST('/api/apps/{appId}/privacy-manifest/sync-from-wizard', { headers: api, params }),
  )
  expect(synced.data?.source).toBe('wizard')
  const reference = await seen(
    'privacyManifestReference',
    client.GET('/api/privacy-manifest/reference', { headers: api }),
  )
  expect(reference.data?.requiredReasonApis).toHaveLength(5)
  const xcprivacy = await seen(
    'downloadPrivacyManifest',
    client.GET('/api/apps/{appId}/privacy-manifest.xcprivacy', { headers: api, params, parseAs: 'text' }),
  )
  expect(xcprivacy.data).toContain('NSPrivacyAccessedAPICategoryUserDefaults')

  const deployed = await seen('deployApp', client.POST('/api/apps/{appId}/deploy', { headers: api, params }))
  expect(deployed.response.status).toBe(200)
  expect(deployed.data?.pages.privacyPolicy).toEndWith('/privacy')
  expect(deployed.data?.pages.aasa).toBeString()

  const history = await seen(
    'deployHistory',
    client.GET('/api/apps/{appId}/deploy-history', { headers: api, params }),
  )
  expect(history.data).toHaveLength(1)

  // /v1: a runtime key made with the session, a sandbox with it, and the account's export.
  const v1Key = await seen(
    'createKey',
    client.POST('/v1/keys', { headers: as(credentials.session), body: { name: 'typed runtime' } }),
  )
  expect(v1Key.response.status).toBe(201)
  const sandbox = await seen(
    'createSandbox',
    client.POST('/v1/sandboxes', {
      headers: { ...as(v1Key.data?.key as string), 'idempotency-key': 'typed-sandbox-1' },
      body: { template: 'base', memory_mb: 512, metadata: { job: 'typed' } },
    }),
  )
  expect(sandbox.response.status).toBe(201)
  const v1Export = await seen(
    'exportV1',
    client.GET('/v1/account/export', { headers: as(credentials.session) }),
  )
  expect(v1Export.response.status).toBe(200)
  expect(v1Export.data?.sandboxes.map((s) => s.id)).toEqual([sandbox.data?.id as string])

  const status = await seen('getStatus', client.GET('/api/status', { headers: api }))
  expect(status.data).toEqual({
    subscription: 'none',
    planType: null,
    appCount: 1,
    hasPaymentMethod: false,
    hasApps: true,
  })
  const account = await seen('getAccount', client.GET('/api/account', { headers: api }))
  expect(account.data?.stats.appCount).toBe(1)
  const site = await seen('getSite', client.GET('/api/apps/{appId}/site', { headers: api, params }))
  expect(site.data?.deployed).toBe(true)
  const me = await seen('getMe', client.GET('/v1/account/me', { headers: as(credentials.session) }))
  expect(me.data?.user.email).toContain('@')

  const exported = await seen('exportAccount', client.GET('/api/account/export', { headers: api }))
  expect(exported.response.status).toBe(200)
  expect(Object.keys(exported.data?.apps ?? {})).toEqual([appId])

  const deleted = await seen('deleteAccount', client.DELETE('/api/account', { headers: api }))
  expect(deleted.response.status).toBe(204)
  const after = await seen('getStatusAfterDeletion', client.GET('/api/status', { headers: api }))
  expect(after.response.status).toBe(401)
  expect(after.error?.error.code).toBe('UNAUTHORIZED')
}

/** Never called: proves at type-check time that the generated client refuses a wrong body. */
export function wrongBodiesDoNotCompile() {
  const client = createClient<paths>({ baseUrl: 'http://localhost' })
  // @ts-expect-error appName must be a string
  void client.POST('/api/apps', { body: { appName: 42 } })
  // @ts-expect-error plan is "monthly" or "yearly"
  void client.POST('/api/change-plan', { body: { plan: 'weekly' } })
}
