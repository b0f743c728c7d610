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
