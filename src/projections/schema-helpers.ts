import type { TLiteral, TUnion } from '@sinclair/typebox'
import { type TSchema, t } from 'elysia'

/**
 * `t.Nullable` writes an invalid `nullable` keyword into OpenAPI 3.1; a union with null is the
 * portable form (../shared/toolchain.md).
 */
export const nullable = <T extends TSchema>(schema: T) => t.Union([schema, t.Null()])

/** RFC 3339 instant (/v1). */
export const DateTime = t.String({ format: 'date-time', examples: ['2026-05-02T09:30:00.000Z'] })
/** Epoch milliseconds (/api). */
export const Millis = t.Integer({ minimum: 0, examples: [1767225600000] })
/** A free-form JSON object. */
export const JsonObject = t.Record(t.String(), t.Unknown())

/**
 * One of the given strings. IMPORTANT: use this, never `t.UnionEnum` — Elysia fills an absent
 * optional UnionEnum (in a body or a query) with its first member, silently inventing input.
 */
export function oneOf<const V extends readonly [string, ...string[]]>(
  values: V,
  options: { error?: string; description?: string } = {},
): TUnion<{ -readonly [K in keyof V]: TLiteral<V[K]> }> {
  return t.Union(
    values.map((v) => t.Literal(v)),
    options,
  ) as unknown as TUnion<{ -readonly [K in keyof V]: TLiteral<V[K]> }>
}
