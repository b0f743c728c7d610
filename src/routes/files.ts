import { Elysia, t } from 'elysia'
import type { AppDeps } from '../deps'

/**
 * Public stored files that API answers link to: app icons. Names are content-addressed, so they
 * can be cached forever. Anything else is a plain 404.
 */
export const fileRoutes = ({ storage }: AppDeps) =>
  new Elysia().get(
    '/files/apps/:appId/icons/:name',
    async ({ params }) => {
      if (!/^[-0-9A-Za-z_]{1,64}$/.test(params.appId) || !/^icon-[0-9a-f]{16}\.png$/.test(params.name))
        return new Response('Not found', {
          status: 404,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
        })
      const file = await storage.body(storage.appPath(params.appId, 'icons', params.name))
      if (!file)
        return new Response('Not found', {
          status: 404,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
        })
      return new Response(file, {
        headers: {
          'content-type': 'image/png',
          'cache-control': 'public, max-age=31536000, immutable',
          'x-content-type-options': 'nosniff',
        },
      })
    },
    {
      params: t.Object({ appId: t.String(), name: t.String() }),
      detail: { hide: true },
    },
  )
