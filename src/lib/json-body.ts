import { AppError } from '../errors'

/** Deepest nesting of arrays and objects a JSON body may have (docs/api-notes.md). */
export const MAX_JSON_DEPTH = 32

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/**
 * Parses a JSON request body defensively, before any schema sees it: strict UTF-8 (invalid bytes
 * are refused, not turned into U+FFFD), at most MAX_JSON_DEPTH levels (deeper input once made
 * validation overflow the stack), and no control characters in any string (see below).
 */
export function parseJsonBody(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) return undefined
  let text: string
  try {
    text = strictUtf8.decode(bytes)
  } catch {
    throw new AppError('INVALID_REQUEST', 'The request body is not valid UTF-8.')
  }
  const depth = nestingDepth(text)
  if (depth > MAX_JSON_DEPTH)
    throw new AppError(
      'INVALID_REQUEST',
      `The request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`,
    )
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new AppError('INVALID_REQUEST', 'The request body is not valid JSON.')
  }
  const problem = findControlCharacter(value, [])
  if (problem)
    throw new AppError(
      'VALIDATION_FAILED',
      `Validation failed: ${problem.path.join('.') || 'body'}: ${problem.message}`,
      {
        issues: [problem],
      },
    )
  return value
}

/** Maximum depth of `[`/`{` outside strings: one linear pass, no recursion. */
export function nestingDepth(text: string): number {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) max = depth
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--
  }
  return max
}

/** C0 controls and DEL, except tab, line feed and carriage return. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/
/** Single-line fields refuse tab and line breaks too. */
const LINE_BREAK = /[\t\n\r\u2028\u2029]/
/**
 * Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): in a name they
 * reorder what is shown ("Evil\u202Egnp.exe App" displays as "Evil…exe.png App"). Single-line
 * fields refuse them; multi-line text (descriptions, pages) may quote right-to-left scripts.
 */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/
/**
 * Names, slugs, emails and domains are single-line by nature; they are recognised by their key
 * (`appName`, `name`, `display_name`, `contactEmail`, `slug`, `domain`, …) in both dialects.
 */
const SINGLE_LINE_KEY = /(^|_)(name|slug|email|domain)$|[a-z](Name|Email|Slug|Domain)$/

/**
 * The first string (value or key) holding a control character, with where it is. Depth is
 * bounded by MAX_JSON_DEPTH, so the recursion is too.
 */
function findControlCharacter(
  value: unknown,
  path: (string | number)[],
): { path: (string | number)[]; message: string } | null {
  if (typeof value === 'string') {
    if (CONTROL.test(value)) return { path, message: 'must not contain control characters' }
    const key = path[path.length - 1]
    if (typeof key === 'string' && SINGLE_LINE_KEY.test(key)) {
      if (LINE_BREAK.test(value)) return { path, message: 'must be a single line (no tabs or line breaks)' }
      if (BIDI_CONTROL.test(value))
        return {
          path,
          message: 'must not contain bidirectional control characters (U+202A–U+202E, U+2066–U+2069)',
        }
    }
    return null
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findControlCharacter(value[i], [...path, i])
      if (found) return found
    }
    return null
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (CONTROL.test(key) || LINE_BREAK.test(key))
        return { path: [...path, key], message: 'property names must not contain control characters' }
      const found = findControlCharacter(inner, [...path, key])
      if (found) return found
    }
  }
  return null
}
