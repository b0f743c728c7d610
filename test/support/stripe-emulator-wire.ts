// Stripe's wire format for the emulator: form bodies with bracket keys, and its error shapes.

export type Json = Record<string, any>

export class StripeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Json,
  ) {
    super(body.error?.message ?? 'stripe error')
  }

  /** The error object as Stripe sends it: with `doc_url` for a coded error and `request_log_url`. */
  bodyFor(requestId: string): Json {
    const error = { ...this.body.error }
    if (error.code)
      error.doc_url = `https://stripe.com/docs/error-codes/${String(error.code).replace(/_/g, '-')}`
    error.request_log_url = `https://dashboard.stripe.com/test/logs/${requestId}?t=${Math.floor(Date.now() / 1000)}`
    return { error }
  }
}

export const missing = (kind: string, id: string) =>
  new StripeHttpError(404, {
    error: {
      type: 'invalid_request_error',
      code: 'resource_missing',
      param: 'id',
      message: `No such ${kind}: '${id}'`,
    },
  })
export const invalid = (message: string, param?: string) =>
  new StripeHttpError(400, { error: { type: 'invalid_request_error', message, ...(param ? { param } : {}) } })

/** `items[0][price]=p&metadata[a]=b` → `{items: [{price: 'p'}], metadata: {a: 'b'}}` */
export function parseStripeForm(body: string): Json {
  const root: Json = {}
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const parts = rawKey.split(/\[|\]\[|\]/).filter((p) => p !== '')
    let node: any = root
    parts.forEach((part, i) => {
      const last = i === parts.length - 1
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1] as string)
      const key = Array.isArray(node) ? Number(part) : part
      if (last) node[key] = value
      else {
        node[key] ??= nextIsIndex ? [] : {}
        node = node[key]
      }
    })
  }
  return root
}

/** A declined card, as Stripe answers it (HTTP 402). */
export const cardError = (message = 'Your card was declined.', declineCode = 'generic_decline') =>
  new StripeHttpError(402, {
    error: { type: 'card_error', code: 'card_declined', decline_code: declineCode, message },
  })

/**
 * Stripe's list envelope over `items` (newest first), honouring `limit` (default 10, at most 100)
 * and `starting_after` the way Stripe pages: the objects after that id, `has_more` when more remain.
 */
export function stripeList(items: Json[], params: Json, url: string): Json {
  const sorted = [...items].sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
  const limit = Math.min(100, Math.max(1, Number(params.limit ?? 10)))
  let start = 0
  if (params.starting_after) {
    const at = sorted.findIndex((item) => item.id === params.starting_after)
    if (at === -1) throw invalid(`No such object: '${params.starting_after}'`, 'starting_after')
    start = at + 1
  }
  const data = sorted.slice(start, start + limit)
  return { object: 'list', data, has_more: start + limit < sorted.length, url }
}
