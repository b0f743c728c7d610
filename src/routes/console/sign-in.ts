import { Elysia, t } from 'elysia'
import type { AppDeps } from '../../deps'
import { AppError } from '../../errors'
import { randomBase62 } from '../../lib/ids'
import { pageResponse } from '../../render/console/layout'
import { html } from '../../render/html'
import {
  CONSOLE_SESSION_MS,
  closeConsoleSession,
  csrfMatches,
  csrfTokenOf,
  openConsoleSession,
} from '../../services/console/sessions'
import {
  actionOperator,
  CsrfOnly,
  consoleCookie,
  cookieOf,
  HIDDEN,
  noticeOf,
  noticeQuery,
  redirectWithNotice,
  SESSION_COOKIE,
  SIGN_IN_COOKIE,
} from './context'

/** Where to go after signing in: a console path only (never another site). */
const safeNext = (next: string | undefined) =>
  next && /^\/console(\/|\?|$)/.test(next) && !next.startsWith('//') ? next : '/console'

function signInPage(
  deps: AppDeps,
  request: Request,
  options: { next?: string; notice?: string | null; error?: string; status?: number },
) {
  // The form's token is bound to a cookie of this browser: a page elsewhere cannot sign it in
  // with the attacker's credential (login CSRF).
  const existing = cookieOf(request, SIGN_IN_COOKIE)
  const secret = existing && /^[A-Za-z0-9]{32}$/.test(existing) ? existing : randomBase62(32)
  return pageResponse(
    {
      title: 'Sign in',
      notice: options.notice,
      body: html`<div class="sign-in">
        <h1>Sign in to the console</h1>
        <p>For operators: paste an operator's API key or session token. It is exchanged for a
        console session of 12 hours and is not kept.</p>
        ${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ''}
        <form method="post" action="/console/sign-in" class="stack">
          <input type="hidden" name="csrf" value="${csrfTokenOf(secret)}">
          <input type="hidden" name="next" value="${safeNext(options.next)}">
          <label for="token">API key or session token</label>
          <input id="token" name="token" type="password" required autocomplete="off" maxlength="4096">
          <button type="submit">Sign in</button>
        </form>
      </div>`,
    },
    options.status ?? 200,
    existing === secret ? {} : { 'set-cookie': consoleCookie(deps, SIGN_IN_COOKIE, secret, 3600) },
  )
}

export const consoleSignInRoutes = (deps: AppDeps) =>
  new Elysia()
    .get(
      '/console/sign-in',
      ({ request, query }) => signInPage(deps, request, { next: query.next, notice: noticeOf(query) }),
      {
        query: t.Object({
          next: t.Optional(t.String({ maxLength: 500 })),
          ...noticeQuery,
        }),
        ...HIDDEN,
      },
    )
    .post(
      '/console/sign-in',
      async ({ request, body }) => {
        const secret = cookieOf(request, SIGN_IN_COOKIE)
        if (!secret || !csrfMatches(secret, body.csrf))
          throw new AppError(
            'FORBIDDEN',
            'This sign-in form is not from this browser (CSRF check failed): reload the page and try again.',
          )
        try {
          const session = await openConsoleSession(deps, body.token)
          const headers = new Headers({ location: safeNext(body.next), 'cache-control': 'no-store' })
          headers.append(
            'set-cookie',
            consoleCookie(deps, SESSION_COOKIE, session.token, CONSOLE_SESSION_MS / 1000),
          )
          headers.append('set-cookie', consoleCookie(deps, SIGN_IN_COOKIE, '', 0))
          return new Response(null, { status: 303, headers })
        } catch (error) {
          if (
            !(error instanceof AppError) ||
            !['UNAUTHORIZED', 'OPERATOR_REQUIRED', 'ACCOUNT_DELETED'].includes(error.code)
          )
            throw error
          return signInPage(deps, request, {
            next: body.next,
            error: error.message,
            status: error.statusFor('v1'),
          })
        }
      },
      {
        body: t.Object({
          token: t.String({ minLength: 1, maxLength: 4096 }),
          csrf: t.Optional(t.String({ maxLength: 200 })),
          next: t.Optional(t.String({ maxLength: 500 })),
        }),
        ...HIDDEN,
      },
    )
    .post(
      '/console/sign-out',
      async ({ request, body }) => {
        const operator = await actionOperator(deps, request, body)
        await closeConsoleSession(deps, operator)
        return redirectWithNotice('/console/sign-in', 'Signed out.', {
          'set-cookie': consoleCookie(deps, SESSION_COOKIE, '', 0),
        })
      },
      { body: CsrfOnly, ...HIDDEN },
    )
