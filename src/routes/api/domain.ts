import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { principalContext } from '../../plugins/principal'
import { routeOptions } from '../../plugins/route-options'
import { oneOf } from '../../projections/schema-helpers'
import { domainStatus, removeDomain, setDomain } from '../../services/domains'
import { apiDoc, apiDocEmpty } from '../openapi'
import { AppParams } from './apps'

const DomainStatus = oneOf(['pending_dns', 'pending_ssl', 'active', 'error'])

export const apiDomainRoutes = (deps: AppDeps) =>
  new Elysia({ prefix: '/api/apps/:appId/site/domain' })
    .use(principalContext)
    .use(routeOptions)
    .put(
      '',
      async ({ principal, params, body }) => {
        const state = await setDomain(deps, principal.userId, params.appId, body.domain)
        return { domain: state.domain, status: state.status, dnsInstructions: state.dnsInstructions }
      },
      {
        params: AppParams,
        body: t.Object({
          domain: t.String({
            minLength: 1,
            maxLength: 253,
            error: 'must be a hostname of at most 253 characters',
          }),
        }),
        rateLimit: 'domain',
        ...apiDoc({
          operationId: 'setCustomDomain',
          summary: 'Serve the site on a custom domain',
          description:
            'Answers the DNS record to create. The domain is checked at once and on each status call: DNS, then the certificate. DOMAIN_IN_USE when another app holds it; CERT_CREATION_FAILED when the certificate authority refuses.',
          tag: 'domains',
          ok: {
            200: t.Object({
              domain: t.String(),
              status: DomainStatus,
              dnsInstructions: t.Array(
                t.Object({ type: oneOf(['A', 'CNAME']), name: t.String(), value: t.String() }),
              ),
            }),
          },
          errors: [404, 409],
          body: true,
          idempotent: true,
        }),
      },
    )
    .get('/status', ({ principal, params }) => domainStatus(deps, principal.userId, params.appId), {
      params: AppParams,
      rateLimit: 'domain',
      ...apiDoc({
        operationId: 'getCustomDomainStatus',
        summary: 'Where the custom domain stands: pending_dns → pending_ssl → active (or error)',
        tag: 'domains',
        ok: {
          200: t.Object({
            domain: t.String(),
            status: DomainStatus,
            dnsVerified: t.Boolean(),
            sslProvisioned: t.Boolean(),
          }),
        },
        errors: [404],
      }),
    })
    .delete(
      '',
      async ({ principal, params }) => {
        await removeDomain(deps, principal.userId, params.appId)
        return new Response(null, { status: 204 })
      },
      {
        params: AppParams,
        rateLimit: 'domain',
        ...apiDocEmpty({
          operationId: 'removeCustomDomain',
          summary: 'Release the custom domain and its certificate',
          tag: 'domains',
          ok: { 204: null },
          errors: [404],
          idempotent: true,
        }),
      },
    )
