import { createPgStore, type PgStore } from '../../db/pg/store'
import { buildDeps, createApp } from '../../src/app'
import type { AppDeps } from '../../src/deps'
import type { TestApp } from './harness'

export interface Instance {
  request: (method: string, path: string, token: string, body?: unknown) => Promise<Response>
  /** Any request, as sent (cookies, forms). */
  handle: (request: Request) => Promise<Response>
  store: PgStore
  deps: AppDeps
}

/**
 * `n` "instances" on the test app's PostgreSQL database: the first is the test app itself; the
 * others are stores of their own (connection pools) with an app each, as `serve` processes would be.
 */
export async function instances(t: TestApp, n: number): Promise<Instance[]> {
  await (t.store as PgStore).ready
  const of = (store: PgStore, app: { handle(r: Request): Promise<Response> }, deps: AppDeps): Instance => ({
    store,
    deps,
    handle: (request) => app.handle(request),
    request: (method, path, token, body) =>
      app.handle(
        new Request(`http://localhost${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            // /v1 creates require one; each request is a new operation.
            ...(method === 'POST' && path.startsWith('/v1/')
              ? { 'idempotency-key': crypto.randomUUID() }
              : {}),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
      ),
  })
  const all = [of(t.store as PgStore, t.app, t.deps)]
  for (let i = 1; i < n; i++) {
    const store = createPgStore(t.store.path, { max: 4, migrate: false })
    await store.ready
    const deps = buildDeps({ config: t.deps.config, store, clock: t.clock, logger: t.deps.logger })
    all.push(of(store, createApp(deps), deps))
  }
  return all
}

export const closeAll = (all: Instance[]) => {
  for (const i of all.slice(1)) i.store.close()
}

/** Two instances (as `instances`), typed as a pair. */
export async function twoInstances(t: TestApp): Promise<[Instance, Instance]> {
  const [a, b] = await instances(t, 2)
  if (!a || !b) throw new Error('two instances were asked for')
  return [a, b]
}
