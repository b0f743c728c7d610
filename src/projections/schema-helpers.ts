import { type IntegerOptions, type TLiteral, type TUnion, Type } from '@sinclair/typebox'
import { type TSchema, t } from 'elysia'

/**
 * `t.Nullable` writes an invalid `nullable` keyword into OpenAPI 3.1; a union with null is the
 * portable form (../shared/toolchain.md).
 */
export const nullable = <T extends TSchema>(schema: T) => t.Union([schema, t.Null()])

/**
 * An integer in a response schema. Elysia's `t.Integer` is a Transform (it coerces strings), and
 * a response schema containing a Transform makes Elysia run TypeBox's interpreted Value.Encode
 * over every response: 40 ms for a list of 1,000 sandboxes. Plain TypeBox keeps the compiled check.
 */
export const Int = (options?: IntegerOptions) => Type.Integer(options)

/** RFC 3339 instant (/v1). */
export const DateTime = t.String({ format: 'date-time', examples: ['2026-05-02T09:30:00.000Z'] })
/** Epoch milliseconds (/api). */
export const Millis = Int({ minimum: 0, examples: [1767225600000] })
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
