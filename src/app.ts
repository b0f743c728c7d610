import { Elysia } from 'elysia'
import { openStore, type Store } from '../db/client'
import { migrate } from '../db/migrate'
import { type Config, loadConfig } from './config'
import type { AppDeps } from './deps'
import { type Clock, systemClock } from './lib/clock'
import { createLogger, type Logger } from './lib/logger'
import { RouteIndex } from './lib/route-index'
import { bearerAuthPlugin } from './plugins/bearer-auth'
import { type BodyRule, bodyGuardPlugin } from './plugins/body-guard'
import { errorEnvelopePlugin } from './plugins/error-envelope'
import { principalContext } from './plugins/principal'
import { requestIdPlugin } from './plugins/request-id'
import { apiAccountRoutes } from './routes/api/account'
import { apiKeyRoutes } from './routes/api/api-keys'
import { docsRoutes } from './routes/docs'
import { systemRoutes } from './routes/system'
import { v1AccountRoutes } from './routes/v1/account'
import { v1AdminRoutes } from './routes/v1/admin'
import { v1KeyRoutes } from './routes/v1/keys'
import { createCredentialVerifier } from './services/credentials'

/** Routes whose bodies are not JSON; everything else on /api and /v1 speaks JSON. */
const RAW_BODY_ROUTES: BodyRule[] = [{ pattern: /^\/api\/webhooks\/stripe$/, raw: true }]

export interface DepsOptions {
  config?: Config
  store?: Store
  clock?: Clock
  logger?: Logger
}

/** Builds every dependency once: open (and migrate) the database unless one is given. */
export function buildDeps(options: DepsOptions = {}): AppDeps {
  const config = options.config ?? loadConfig()
  const clock = options.clock ?? systemClock
  const logger = options.logger ?? createLogger(config.logLevel)
  const store =
    options.store ??
    (() => {
      const opened = openStore(config.databasePath)
      migrate(opened)
      return opened
    })()
  const verifier = createCredentialVerifier({ store, clock, config, logger })
  return { config, store, clock, logger, verifier }
}

/**
 * The whole HTTP application. Plugins in the fixed order of traffic.md (request id → error
 * envelope → rate limit → bearer auth → idempotency), then the route modules.
 */
export function createApp(deps: AppDeps) {
  const { config, logger, verifier } = deps
  const routeIndex = new RouteIndex()
  const app = new Elysia({ name: 'custodian' })
    .use(requestIdPlugin())
    .use(
      errorEnvelopePlugin({
        publicUrl: config.publicUrl,
        logger,
        allowedMethods: (path) => routeIndex.methodsFor(path),
      }),
    )
    .use(bodyGuardPlugin({ maxBytes: config.maxBodyBytes, rules: RAW_BODY_ROUTES }))
    .use(bearerAuthPlugin({ verifier }))
    .use(principalContext)
    .use(docsRoutes())
    .use(systemRoutes(deps))
    .use(apiAccountRoutes(deps))
    .use(apiKeyRoutes(deps))
    .use(v1AccountRoutes(deps))
    .use(v1KeyRoutes(deps))
    .use(v1AdminRoutes(deps))
  routeIndex.load(app.routes)
  return app
}

export type App = ReturnType<typeof createApp>
