import { t } from 'elysia'
import { writeTransaction } from '../../../db/store'
import type { AppDeps } from '../../deps'
import { AppError } from '../../errors'
import { digestsEqual } from '../../lib/crypto'
import { mac } from '../../lib/signed-link'
import { pageResponse, redirectTo } from '../../render/console/layout'
import { html } from '../../render/html'
import { type ConsoleAction, type ConsoleTarget, recordConsoleAction } from '../../services/console/audit'
import { type ConsoleOperator, consoleOperatorOf, csrfMatches } from '../../services/console/sessions'

export const SESSION_COOKIE = 'custodian_console'
/** Binds the sign-in form to the browser that loaded it (there is no session yet to bind it to). */
export const SIGN_IN_COOKIE = 'custodian_console_sign_in'

/** A cookie of the request, or undefined. */
export function cookieOf(request: Request, name: string): string | undefined {
  const header = request.headers.get('cookie')
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** Set-Cookie for a console cookie: HttpOnly, SameSite=Strict, Secure behind https, path /console. */
export function consoleCookie(deps: AppDeps, name: string, value: string, maxAgeSeconds: number) {
  const secure = deps.config.publicUrl.startsWith('https://') ? '; Secure' : ''
  return `${name}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`
}

/**
 * The operator of a page request. Without a live session a page sends the browser to sign in
 * (303), keeping where it was going.
 */
export async function pageOperator(deps: AppDeps, request: Request): Promise<ConsoleOperator | Response> {
  const operator = await consoleOperatorOf(deps, cookieOf(request, SESSION_COOKIE))
  if (operator) return operator
  const url = new URL(request.url)
  return redirectTo(`/console/sign-in?next=${encodeURIComponent(url.pathname + url.search)}`)
}

/**
 * The operator of a form post, checked against the form's CSRF token. A post without a live
 * session is refused (401), one whose token is missing or wrong too (403): nothing is done.
 */
export async function actionOperator(
  deps: AppDeps,
  request: Request,
  body: unknown,
): Promise<ConsoleOperator> {
  const token = cookieOf(request, SESSION_COOKIE)
  const operator = await consoleOperatorOf(deps, token)
  if (!operator || !token)
    throw new AppError('UNAUTHORIZED', 'Your console session has ended: sign in again.')
  const csrf = typeof body === 'object' && body !== null ? (body as { csrf?: unknown }).csrf : undefined
  if (!csrfMatches(token, csrf))
    throw new AppError(
      'FORBIDDEN',
      'This form is not from your console session (CSRF check failed): reload the page and try again.',
    )
  return operator
}

const noticeSignature = (notice: string) => mac('console-notice', notice)

/**
 * Back to a page after a form (303: a reload does not post again), with a one-line outcome. The
 * notice travels in the URL signed, so a link made elsewhere cannot put its own words on a console page.
 */
export function redirectWithNotice(location: string, notice: string, headers: Record<string, string> = {}) {
  const query = new URLSearchParams({ notice, ns: noticeSignature(notice) })
  return redirectTo(`${location}${location.includes('?') ? '&' : '?'}${query}`, headers)
}

/** The notice a redirect carried, if this server signed it; otherwise none. */
export function noticeOf(query: Record<string, string | undefined>) {
  const { notice, ns } = query
  if (!notice || !ns || notice.length > 300) return null
  return digestsEqual(noticeSignature(notice), ns) ? notice : null
}

/** The query every console page takes: a redirect's signed notice. */
export const noticeQuery = {
  notice: t.Optional(t.String({ maxLength: 500 })),
  ns: t.Optional(t.String({ maxLength: 100 })),
}

/** The console's error page, for every failure on /console (plugins/error-envelope.ts). */
export function consoleErrorPage(error: AppError, status: number, requestId: string): Response {
  const signIn = status === 401
  return pageResponse(
    {
      title: status === 404 ? 'Not found' : 'Something went wrong',
      body: html`<h1>${status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : 'That did not work'}</h1>
        <p class="error" role="alert">${error.message}</p>
        <p>${signIn ? html`<a href="/console/sign-in">Sign in</a>` : html`<a href="/console">Back to the overview</a>`}</p>
        <p class="empty">Request ${requestId}</p>`,
    },
    status,
  )
}

/** Every console form carries its CSRF token; optional here so that a missing one is a 403, not a 400. */
export const csrfField = { csrf: t.Optional(t.String({ maxLength: 200 })) }
export const CsrfOnly = t.Object(csrfField)

/** Console routes are pages, not API operations: kept out of the OpenAPI document. */
export const HIDDEN = { detail: { hide: true } }

/** Records a done action (services/console/audit.ts) in its own short transaction. */
export const audited = (
  deps: AppDeps,
  operator: ConsoleOperator,
  action: ConsoleAction,
  target: ConsoleTarget,
) =>
  writeTransaction(deps.store, (tx) => recordConsoleAction(tx, deps.clock, operator.userId, action, target))
