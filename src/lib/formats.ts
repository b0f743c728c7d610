import { FormatRegistry } from '@sinclair/typebox'
import { fullFormats } from 'elysia/type-system/format'
import { isEmailFormat } from './email'

/** The string formats our schemas use. */
const FORMATS = ['uuid', 'email', 'date', 'date-time', 'uri', 'hostname'] as const

/**
 * IMPORTANT: importing @elysiajs/openapi replaces TypeBox's global checks for these formats with
 * Zod/valibot validators that build a schema on every call — measured at ~100 µs per response of
 * GET /v1/account/me. This puts Elysia's own regex checks back. Called once the docs plugin has
 * been imported (routes/docs.ts) and again by createApp; repeating it is harmless.
 */
export function restoreFastFormats() {
  for (const name of FORMATS) {
    // Emails follow the one rule of every path that takes one (email.ts).
    const check =
      name === 'email' ? isEmailFormat : (fullFormats[name] as RegExp | ((value: string) => boolean))
    FormatRegistry.Set(name, typeof check === 'function' ? check : (value) => check.test(value))
  }
}
