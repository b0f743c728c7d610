import { Elysia, t } from 'elysia'
import { unavailability } from '../../db/errors'
import pkg from '../../package.json'
import type { AppDeps } from '../deps'
import { clientIp, type PeerSource } from '../lib/client-ip'
import { digestsEqual, sha256Hex } from '../lib/crypto'
import { writeProblemIn } from '../lib/disk-space'
import { bearerToken } from '../plugins/bearer-auth'
import { Int } from '../projections/schema-helpers'
import { webhookHealth } from '../services/webhook-endpoints'

/**
 * Health probes and metrics: no rate limit, never cached. Metrics are open unless METRICS_TOKEN is
 * set (then the scraper sends it as a bearer token); keep /metrics off the public internet either
 * way, at the proxy.
 */
export const systemRoutes = ({ store, metrics, config, billingHealth, outages, rateLimitStore }: AppDeps) =>
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
        const redis = !config.redisUrl
          ? 'disabled'
          : rateLimitStore.available === false
            ? 'unreachable'
            : 'ok'
        const report = {
          database: 'ok',
          pendingMigrations: 0,
          billing: billingHealth.state as string,
          redis,
          storage: 'ok',
          webhooks: 'none' as string,
        }
        const notReady = (reason: string) => {
          set.status = 503
          return { status: 'not_ready' as const, ...report, reason }
        }
        try {
          const health = await store.health()
          outages.recovered('database')
          report.pendingMigrations = health.pendingMigrations
          report.webhooks = await webhookHealth(store)
          if (health.pendingMigrations > 0)
            return notReady(`${health.pendingMigrations} migration(s) not applied`)
          // A database that reads but cannot be written would answer every write with 500.
          if (health.writeProblem) {
            report.database = 'read_only'
            return notReady(`the database cannot be written: ${health.writeProblem}`)
          }
        } catch (error) {
          report.database = 'unavailable'
          report.pendingMigrations = -1
          return notReady(
            `the database is unreachable: ${unavailability(error)?.reason ?? (error as Error).message}`,
          )
        }
        // Deploys and icons land in STORAGE_DIR unless the store keeps them: a directory that
        // cannot take a small file would fail them all.
        const storageProblem = store.sharedFiles === null ? writeProblemIn(config.storageDir, 4096) : null
        const full = outages.current('storage')
        if (storageProblem || full) {
          report.storage = /space|full|quota/i.test(storageProblem ?? full?.reason ?? '')
            ? 'full'
            : 'unwritable'
          return notReady(
            storageProblem
              ? `STORAGE_DIR=${JSON.stringify(config.storageDir)} cannot be written: ${storageProblem}`
              : `storage: ${full?.reason} (since ${new Date(full?.since ?? 0).toISOString()}, ${full?.count} request(s) refused)`,
          )
        }
        if (redis === 'unreachable') {
          const since = outages.current('redis')?.since
          return notReady(
            `Redis (REDIS_URL) is unreachable${since ? ` since ${new Date(since).toISOString()}` : ''}: rate limits are counted per instance until it answers`,
          )
        }
        if (billingHealth.state === 'refused')
          return notReady('Stripe refused STRIPE_SECRET_KEY: billing calls would fail')
        return { status: 'ready' as const, ...report }
      },
      {
        response: {
          200: t.Object(
            {
              status: t.Literal('ready'),
              database: t.String(),
              pendingMigrations: Int(),
              billing: t.String(),
              redis: t.String(),
              storage: t.String(),
              webhooks: t.String({
                description:
                  'none (no enabled endpoint), ok, or failing (a receiver is failing: deliveries retry; does not make the instance unready)',
              }),
            },
            { description: 'Ready' },
          ),
          503: t.Object(
            {
              status: t.Literal('not_ready'),
              database: t.String({ description: 'ok, read_only or unavailable' }),
              pendingMigrations: Int({ description: '-1 when the database cannot be asked' }),
              billing: t.String({ description: 'disabled, unchecked, ok, unreachable or refused' }),
              redis: t.String({ description: 'disabled (no REDIS_URL), ok or unreachable' }),
              storage: t.String({ description: 'ok, full or unwritable' }),
              webhooks: t.String({ description: 'none, ok or failing (informational)' }),
              reason: t.String(),
            },
            { description: 'Not ready' },
          ),
        },
        detail: {
          operationId: 'readyz',
          summary:
            'Readiness: database answers and can be written, migrations applied, storage writable with room, Redis reachable, Stripe key accepted',
          tags: ['system'],
          security: [],
        },
      },
    )

/**
 * Headers by which a proxy says it relays someone else: any of them makes a loopback peer "not
 * local" (a proxy on this machine would otherwise hand /metrics to the internet).
 */
const FORWARDING_HEADERS = [
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-server',
  'forwarded',
  'x-real-ip',
  'via',
  'cf-connecting-ip',
  'true-client-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'fastly-client-ip',
  'x-original-forwarded-for',
  'x-appengine-user-ip',
]

/** A loopback peer that is not a proxy relaying someone else (in-process requests count as local). */
function isLocalScrape(request: Request, server: PeerSource | null | undefined): boolean {
  if (FORWARDING_HEADERS.some((h) => request.headers.has(h))) return false
  for (const name of request.headers.keys()) if (/^x-forwarded-|client-ip$/.test(name)) return false
  const peer = clientIp(request, server, 0)
  return peer === 'local' || peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.')
}
