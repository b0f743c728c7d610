import { html, type SafeHtml } from '../html'

/** The console's pages, in navigation order. */
const SECTIONS = [
  ['overview', 'Overview', '/console'],
  ['accounts', 'Accounts', '/console/accounts'],
  ['erasures', 'Erasures', '/console/erasures'],
  ['requests', 'Requests', '/console/requests'],
  ['webhooks', 'Webhooks', '/console/webhooks'],
  ['quotas', 'Quotas & usage', '/console/quotas'],
] as const
export type ConsoleSection = (typeof SECTIONS)[number][0]

/**
 * No script, no inline style, nothing from elsewhere: the page is plain HTML and one stylesheet
 * of our own. Forms post only here; nothing may frame the console.
 */
export const CONSOLE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

export const CONSOLE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
}

export interface PageFrame {
  title: string
  section?: ConsoleSection
  /** The signed-in operator: the navigation and the sign-out form. */
  operator?: { email: string; csrf: string }
  /** A one-line outcome of the action that led here. */
  notice?: string | null
  body: SafeHtml | SafeHtml[]
}

export function renderPage(frame: PageFrame): string {
  const nav = frame.operator
    ? html`<nav aria-label="Console">
        <ul>
          ${SECTIONS.map(
            ([id, label, href]) =>
              html`<li><a href="${href}" ${id === frame.section ? html`aria-current="page"` : ''}>${label}</a></li>`,
          )}
        </ul>
        <form method="post" action="/console/sign-out" class="sign-out">
          <input type="hidden" name="csrf" value="${frame.operator.csrf}">
          <span class="who">${frame.operator.email}</span>
          <button type="submit">Sign out</button>
        </form>
      </nav>`
    : ''
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title} · Custodian console</title>
<link rel="stylesheet" href="/console/assets/console.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><a class="brand" href="/console">Custodian</a>${nav}</header>
<main id="main">
${frame.notice ? html`<p class="notice" role="status">${frame.notice}</p>` : ''}
${frame.body}
</main>
</body>
</html>`.value
}

export const pageResponse = (frame: PageFrame, status = 200, headers: Record<string, string> = {}) =>
  new Response(renderPage(frame), { status, headers: { ...CONSOLE_HEADERS, ...headers } })

/** A 303 to `location` (after a form, so that a reload does not post again). */
export const redirectTo = (location: string, headers: Record<string, string> = {}) =>
  new Response(null, { status: 303, headers: { location, 'cache-control': 'no-store', ...headers } })
