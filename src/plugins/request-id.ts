import { AppError } from '../errors'
import { requestId as newRequestId } from '../lib/ids'
import type { GateStep } from './request-gate'
import { stateOf } from './request-state'

/** An incoming id is echoed only when it is short and plain (no header or log injection). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Gives every request an id, echoed in `X-Request-Id` and in /v1 error bodies. */
export const requestIdStep: GateStep = ({ request, set }) => {
  const incoming = request.headers.get('x-request-id')
  const id = incoming && SANE_REQUEST_ID.test(incoming) ? incoming : newRequestId()
  stateOf(request).requestId = id
  set.headers['x-request-id'] = id
  // An HTTP/1.0 request without Host reaches us with a relative URL ("/path"): nothing after this
  // step could tell which site it is for, and URL parsing would fail.
  if (request.url.charCodeAt(0) === 47 /* / */)
    throw new AppError('INVALID_REQUEST', 'The Host header is required.')
  return undefined
}
