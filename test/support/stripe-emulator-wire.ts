// Stripe's wire format for the emulator: form bodies with bracket keys, and its error shapes.

export type Json = Record<string, any>

export class StripeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Json,
  ) {
    super(body.error?.message ?? 'stripe error')
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

/** Stripe's list envelope. */
export const list = (url: string, data: Json[], hasMore = false) => ({
  object: 'list',
  data,
  has_more: hasMore,
  url,
})
