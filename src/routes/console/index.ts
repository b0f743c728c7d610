import { Elysia } from 'elysia'
import type { AppDeps } from '../../deps'
import consoleCss from '../../render/console/console.css' with { type: 'file' }
import { consoleAccountActionRoutes } from './account-actions'
import { consoleAccountRoutes } from './accounts'
import { HIDDEN } from './context'
import { consoleErasureRoutes } from './erasures'
import { consoleOverviewRoutes } from './overview'
import { consoleQuotaRoutes } from './quotas'
import { consoleRequestRoutes } from './requests'
import { consoleSignInRoutes } from './sign-in'
import { consoleWebhookRoutes } from './webhooks'

/**
 * The operator console (docs/console.md): server-rendered pages under /console, signed in with a
 * session cookie, every form CSRF-checked, no script. Its stylesheet is embedded in the binary.
 */
export const consoleRoutes = (deps: AppDeps) =>
  new Elysia()
    .get(
      '/console/assets/console.css',
      () =>
        new Response(Bun.file(consoleCss), {
          headers: {
            'content-type': 'text/css; charset=utf-8',
            'cache-control': 'public, max-age=3600',
            'x-content-type-options': 'nosniff',
          },
        }),
      HIDDEN,
    )
    .use(consoleSignInRoutes(deps))
    .use(consoleOverviewRoutes(deps))
    .use(consoleAccountRoutes(deps))
    .use(consoleAccountActionRoutes(deps))
    .use(consoleErasureRoutes(deps))
    .use(consoleRequestRoutes(deps))
    .use(consoleWebhookRoutes(deps))
    .use(consoleQuotaRoutes(deps))
