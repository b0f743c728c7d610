import { Elysia, t } from 'elysia'
import { storeHealth } from '../../db/health'
import pkg from '../../package.json'
import type { AppDeps } from '../deps'
import { clientIp, type PeerSource } from '../lib/client-ip'
import { digestsEqual, sha256Hex } from '../lib/crypto'
import { bearerToken } from '../plugins/bearer-auth'
import { Int } from '../projections/schema-helpers'

/**
 * Health probes and metrics: no rate limit, never cached. Metrics are open unless METRICS_TOKEN is
 * set (then the scraper sends it as a bearer token); keep /metrics off the public internet either
 * way, at the proxy.
 */
export const systemRoutes = ({ store, metrics, config, billingHealth }: AppDeps) =>
  new Elysia()
    .get(
      '/metrics',
      async ({ request, set, server }) => {
        set.headers['cache-control'] = 'no-store'
        // Safe by default: without METRICS_TOKEN (and without METRICS_PUBLIC=true) metrics are
        // served only to a scraper on this machine, never through a proxy.
        if (!config.metricsToken && !config.metricsPublic && !isLocalScrape(request, server))
          return new Response(
            'metrics are served to loopback only; set METRICS_TOKEN (or METRICS_PUBLIC=true) to scrape from elsewhere\n',
            { status: 403, headers: { 'content-type': 'text/plain' } },
          )
        if (config.metricsToken) {
          const presented = bearerToken(request)
          if (!presented || !digestsEqual(sha256Hex(presented), sha256Hex(config.metricsToken)))
            return new Response('metrics need the METRICS_TOKEN bearer token\n', {
              status: 401,
              headers: { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="metrics"' },
            })
        }
        return new Response(await metrics.text(), { headers: { 'content-type': metrics.contentType() } })
      },
      {
        detail: {
          operationId: 'metrics',
          summary: 'Prometheus metrics (text exposition format)',
          description:
            'Requests by route pattern and status, latency histogram, rate-limit rejections, idempotent replays, deletion steps, Stripe call errors, process metrics. Bearer METRICS_TOKEN when configured.',
          tags: ['system'],
          security: [],
          responses: {
            200: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
            401: { description: 'METRICS_TOKEN is set and was not sent' },
            403: { description: 'No METRICS_TOKEN and the scraper is not on loopback' },
          },
        },
      },
    )
    .get(
      '/healthz',
      ({ set }) => {
        set.headers['cache-control'] = 'no-store'
        return { status: 'ok' as const }
      },
      {
        response: { 200: t.Object({ status: t.Literal('ok') }, { description: 'The process is up' }) },
        detail: { operationId: 'healthz', summary: 'Liveness', tags: ['system'], security: [] },
      },
    )
    .get(
      '/',
      () => ({
        name: 'Custodian',
        version: pkg.version,
        docs: '/docs',
        openapi: '/docs/json',
        errors: '/docs/errors',
        health: '/healthz',
      }),
      {
        response: {
          200: t.Object(
            {
              name: t.String(),
              version: t.String(),
              docs: t.String(),
              openapi: t.String(),
              errors: t.String(),
              health: t.String(),
            },
            { description: 'Where to go from here' },
          ),
        },
        detail: {
          operationId: 'root',
          summary: 'Where the documentation is',
          tags: ['system'],
          security: [],
        },
      },
    )
    .get(
      '/readyz',
      async ({ set }) => {
        set.headers['cache-control'] = 'no-store'
        const notReady = (database: string, pendingMigrations: number, reason: string) => {
          set.status = 503
          return {
            status: 'not_ready' as const,
            database,
            pendingMigrations,
            billing: billingHealth.state,
            reason,
          }
        }
        try {
          const health = await storeHealth(store)
          const pending = health.pendingMigrations
          if (pending > 0) return notReady('ok', pending, `${pending} migration(s) not applied`)
          // A database that reads but cannot be written would answer every write with 500.
          const problem = health.writeProblem
          if (problem) return notReady('read_only', 0, `the database cannot be written: ${problem}`)
          if (billingHealth.state === 'refused')
            return notReady('ok', 0, 'Stripe refused STRIPE_SECRET_KEY: billing calls would fail')
          return {
            status: 'ready' as const,
            database: 'ok',
            pendingMigrations: 0,
            billing: billingHealth.state,
          }
        } catch (error) {
          return notReady('unavailable', -1, (error as Error).message)
        }
      },
      {
        response: {
          200: t.Object(
            {
              status: t.Literal('ready'),
              database: t.String(),
              pendingMigrations: Int(),
              billing: t.String(),
            },
            { description: 'Ready' },
          ),
          503: t.Object(
            {
              status: t.Literal('not_ready'),
              database: t.String({ description: 'ok, read_only or unavailable' }),
              pendingMigrations: Int(),
              billing: t.String({ description: 'disabled, unchecked, ok, unreachable or refused' }),
              reason: t.String(),
            },
            { description: 'Not ready' },
          ),
        },
        detail: {
          operationId: 'readyz',
          summary: 'Readiness: database answers and can be written, migrations applied, Stripe key accepted',
          tags: ['system'],
          security: [],
        },
      },
    )

const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip']

/** A loopback peer that is not a proxy relaying someone else (in-process requests count as local). */
function isLocalScrape(request: Request, server: PeerSource | null | undefined): boolean {
  if (FORWARDING_HEADERS.some((h) => request.headers.has(h))) return false
  const peer = clientIp(request, server, 0)
  return peer === 'local' || peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.')
}
