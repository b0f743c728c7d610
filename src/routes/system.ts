import { Elysia, t } from 'elysia'
import { pendingMigrations } from '../../db/migrate'
import type { AppDeps } from '../deps'
import { Int } from '../projections/schema-helpers'

/** Health probes: no credentials, no rate limit, never cached. */
export const systemRoutes = ({ store }: AppDeps) =>
  new Elysia()
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
      '/readyz',
      ({ set }) => {
        set.headers['cache-control'] = 'no-store'
        try {
          store.sqlite.query('SELECT 1').get()
          const pending = pendingMigrations(store)
          if (pending === 0) return { status: 'ready' as const, database: 'ok', pendingMigrations: 0 }
          set.status = 503
          return { status: 'not_ready' as const, database: 'ok', pendingMigrations: pending }
        } catch {
          set.status = 503
          return { status: 'not_ready' as const, database: 'unavailable', pendingMigrations: -1 }
        }
      },
      {
        response: {
          200: t.Object(
            { status: t.Literal('ready'), database: t.String(), pendingMigrations: Int() },
            { description: 'Ready' },
          ),
          503: t.Object(
            { status: t.Literal('not_ready'), database: t.String(), pendingMigrations: Int() },
            { description: 'Not ready' },
          ),
        },
        detail: {
          operationId: 'readyz',
          summary: 'Readiness: database answers and migrations are applied',
          tags: ['system'],
          security: [],
        },
      },
    )
