import type { TestApp } from './harness'

/** A signed-in console browser, as far as HTTP goes: its session cookie and its forms' token. */
export interface ConsoleSession {
  cookie: string
  csrf: string
}

export const csrfIn = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? ''

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

/** Loads the sign-in form and posts `token` with it; answers the response and its cookies. */
export async function postSignIn(t: TestApp, token: string, next?: string) {
  const form = await t.request('GET', '/console/sign-in')
  const formCookie = (form.headers.get('set-cookie') ?? '').split(';')[0] as string
  const csrf = csrfIn(await form.text())
  return t.request('POST', '/console/sign-in', {
    rawBody: new URLSearchParams({ token, csrf, ...(next ? { next } : {}) }).toString(),
    headers: { ...FORM, cookie: formCookie },
  })
}

/** Signs in with an operator's credential; fails the test when that does not work. */
export async function signIn(t: TestApp, token: string): Promise<ConsoleSession> {
  const response = await postSignIn(t, token)
  if (response.status !== 303)
    throw new Error(`sign-in answered ${response.status}: ${await response.text()}`)
  const cookie = (response.headers.getSetCookie()[0] ?? '').split(';')[0] as string
  const overview = await t.request('GET', '/console', { headers: { cookie } })
  return { cookie, csrf: csrfIn(await overview.text()) }
}

/** A console page as the signed-in operator. */
export async function consolePage(t: TestApp, session: ConsoleSession, path: string) {
  const response = await t.request('GET', path, { headers: { cookie: session.cookie } })
  return { status: response.status, headers: response.headers, html: await response.text() }
}

/** Posts a console form (with the session's CSRF token unless `csrf` says otherwise). */
export async function postForm(
  t: TestApp,
  session: ConsoleSession | null,
  path: string,
  fields: Record<string, string> = {},
  options: { csrf?: string | null } = {},
) {
  const csrf = options.csrf === undefined ? session?.csrf : options.csrf
  const response = await t.request('POST', path, {
    rawBody: new URLSearchParams({ ...(csrf ? { csrf } : {}), ...fields }).toString(),
    headers: { ...FORM, ...(session ? { cookie: session.cookie } : {}) },
  })
  return { status: response.status, location: response.headers.get('location'), html: await response.text() }
}
