/**
 * Moves the headers the pipeline put on Elysia's `set` (X-Request-Id) onto a Response a route
 * built itself, leaving `set` empty, so that Elysia hands the Response on as it is. Otherwise
 * Elysia rebuilds every such Response to merge them in — a second Response around the first
 * one's body as a stream — which was the largest single cost of serving a hosted page.
 */
export function adoptSetHeaders(
  set: { headers: Record<string, string | number> },
  response: Response,
): Response {
  for (const name in set.headers) {
    response.headers.set(name, String(set.headers[name]))
    delete set.headers[name]
  }
  return response
}

/** The same for an answer that may still be on its way. */
export function adoptSetHeadersOf(
  set: { headers: Record<string, string | number> },
  response: Response | Promise<Response>,
): Response | Promise<Response> {
  return response instanceof Promise
    ? response.then((r) => adoptSetHeaders(set, r))
    : adoptSetHeaders(set, response)
}

/** The content type of the JSON answers routes build themselves (and of their stored replays). */
export const JSON_CONTENT_TYPE = 'application/json;charset=utf-8'

/** A JSON answer as a finished Response carrying the pipeline's headers (see adoptSetHeaders). */
export function jsonResponse(
  set: { headers: Record<string, string | number> },
  body: unknown,
  status = 200,
): Response {
  return jsonTextResponse(set, JSON.stringify(body), status)
}

/** The same for JSON already serialised. */
export function jsonTextResponse(
  set: { headers: Record<string, string | number> },
  json: string,
  status = 200,
): Response {
  return adoptSetHeaders(set, new Response(json, { status, headers: { 'content-type': JSON_CONTENT_TYPE } }))
}
