/**
 * Validation messages a person can act on: what a value must be, in words, never TypeBox's own
 * wording ("Expected union value", "Expected required property"). Built from the failing schema.
 */

export interface SchemaLike {
  type?: string | string[]
  const?: unknown
  error?: unknown
  format?: string
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  minItems?: number
  maxItems?: number
  anyOf?: SchemaLike[]
  enum?: unknown[]
  [key: string]: unknown
}

export interface ValueErrorLike {
  path?: string
  message?: string
  schema?: SchemaLike
  /** Per-branch error iterators of a failed union. */
  errors?: Iterable<ValueErrorLike>[]
}

const FORMATS: Record<string, string> = {
  email: 'an email address',
  uri: 'a URL',
  url: 'a URL',
  hostname: 'a hostname',
  uuid: 'a UUID',
  'date-time': 'an RFC 3339 date-time',
  date: 'a date (YYYY-MM-DD)',
}

const range = (min: number | undefined, max: number | undefined, unit: string) =>
  min !== undefined && max !== undefined
    ? `${min}–${max} ${unit}`
    : min !== undefined
      ? `at least ${min} ${unit}`
      : max !== undefined
        ? `at most ${max} ${unit}`
        : null

/** "a string of 1–200 characters", "null", "\"card\"", "a list of at most 50 items"… */
export function describeSchema(schema: SchemaLike | undefined): string {
  if (!schema) return 'a valid value'
  if (typeof schema.error === 'string' && schema.error.startsWith('must be '))
    return schema.error.slice('must be '.length)
  if (schema.const !== undefined) return JSON.stringify(schema.const)
  if (schema.anyOf) {
    const parts = [...new Set(schema.anyOf.map(describeSchema))]
    return parts.length <= 1
      ? (parts[0] ?? 'a valid value')
      : `${parts.slice(0, -1).join(', ')} or ${parts.at(-1)}`
  }
  switch (schema.type) {
    case 'null':
      return 'null'
    case 'boolean':
      return 'true or false'
    case 'string': {
      if (schema.format && FORMATS[schema.format]) return FORMATS[schema.format] as string
      if (schema.pattern) return 'text in the documented format'
      const length = range(schema.minLength, schema.maxLength, 'characters')
      return length ? `a string of ${length}` : 'a string'
    }
    case 'integer':
    case 'number': {
      const kind = schema.type === 'integer' ? 'a whole number' : 'a number'
      const { minimum: min, maximum: max } = schema
      if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`
      if (min !== undefined) return `${kind} of at least ${min}`
      if (max !== undefined) return `${kind} of at most ${max}`
      return kind
    }
    case 'array': {
      const count = range(schema.minItems, schema.maxItems, 'items')
      return count ? `a list of ${count}` : 'a list'
    }
    case 'object':
      return 'an object'
    default:
      return 'a valid value'
  }
}

/**
 * The message of one TypeBox error: the schema's own `error` when it has one; "is required" for a
 * missing property; "is not a field of this object" for an unknown one; for a union, what each
 * branch accepts ("must be an https://… URL or null"); otherwise what the schema accepts.
 */
export function issueMessage(e: ValueErrorLike): string {
  const message = e.message ?? ''
  if (/required property/i.test(message)) return 'is required'
  if (typeof e.schema?.error === 'string') return e.schema.error
  if (/unexpected property/i.test(message)) return 'is not a field of this object'
  if (Array.isArray(e.errors) && e.errors.length > 0 && e.schema?.anyOf) {
    const literals = e.schema.anyOf.filter((b) => b.const !== undefined).map((b) => b.const)
    if (literals.length > 0 && literals.length === e.schema.anyOf.length)
      return `must be one of: ${literals.map((v) => JSON.stringify(v)).join(', ')}`
    // A union with null (an optional value): the message of the branch that could have matched.
    const branches = e.errors
      .map((it) => [...it])
      .filter((errs) => errs.length > 0 && errs[0]?.schema?.type !== 'null')
    if (branches.length === 1 && branches[0]?.[0] && e.schema.anyOf.length === 2) {
      const inner = issueMessage(branches[0][0])
      return e.schema.anyOf.some((b) => b.type === 'null') && inner.startsWith('must be ')
        ? `${inner} or null`
        : inner
    }
  }
  return `must be ${describeSchema(e.schema)}`
}

/** `['faqItems', 0, 'question']` → `faqItems[0].question` */
export function fieldLabel(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')
}
