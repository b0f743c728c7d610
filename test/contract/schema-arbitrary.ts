import fc from 'fast-check'

// JSON Schema (as /docs/json writes it) → fast-check arbitraries: values the schema accepts, and
// values that break exactly one of its constraints.

export type Schema = Record<string, any>

const FORMATS: Record<string, () => fc.Arbitrary<string>> = {
  email: () => fc.emailAddress(),
  uri: () => fc.webUrl(),
  'date-time': () => fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  date: () => fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  uuid: () => fc.uuid(),
  hostname: () => fc.domain(),
}

function stringArbitrary(schema: Schema): fc.Arbitrary<string> {
  const format = schema.format ? FORMATS[schema.format] : undefined
  if (format) return format()
  const min = schema.minLength ?? 0
  const max = Math.min(schema.maxLength ?? 40, min + 40)
  if (schema.pattern) {
    try {
      return fc
        .stringMatching(new RegExp(schema.pattern))
        .filter((s) => s.length >= min && s.length <= (schema.maxLength ?? Number.POSITIVE_INFINITY))
    } catch {
      // A pattern JavaScript cannot compile: fall through to plain strings.
    }
  }
  return fc.string({ minLength: min, maxLength: max })
}

/** Values the schema accepts (best effort: patterns and formats are honoured where possible). */
export function validValue(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || typeof schema !== 'object') return fc.jsonValue({ maxDepth: 2 })
  if ('const' in schema) return fc.constant(schema.const)
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum)
  const variants = schema.anyOf ?? schema.oneOf
  if (Array.isArray(variants) && variants.length)
    return fc.oneof(...variants.map((v: Schema) => validValue(v, depth)))
  if (Array.isArray(schema.type))
    return fc.oneof(...schema.type.map((type: string) => validValue({ ...schema, type }, depth)))
  switch (schema.type) {
    case 'string':
      return stringArbitrary(schema)
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 })
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true })
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array': {
      if (depth > 3) return fc.constant([])
      const minLength = schema.minItems ?? 0
      return fc.array(validValue(schema.items ?? {}, depth + 1), {
        minLength,
        maxLength: Math.min(schema.maxItems ?? 3, minLength + 3),
      })
    }
    case 'object': {
      if (depth > 3) return fc.constant({})
      const properties: Record<string, Schema> = schema.properties ?? {}
      const required = new Set<string>(schema.required ?? [])
      if (!Object.keys(properties).length)
        return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 })
      return fc.record(
        Object.fromEntries(
          Object.entries(properties).map(([key, value]) => [key, validValue(value, depth + 1)]),
        ),
        { requiredKeys: [...required].filter((key) => key in properties) },
      )
    }
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}

/** A value of a different JSON type than the schema allows (null only where null is not allowed). */
function wrongType(schema: Schema): fc.Arbitrary<unknown> {
  const allowed = new Set<string>(
    Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : ['string', 'number', 'object'],
  )
  const candidates: fc.Arbitrary<unknown>[] = []
  if (!allowed.has('string')) candidates.push(fc.string({ maxLength: 10 }))
  if (!allowed.has('integer') && !allowed.has('number')) candidates.push(fc.integer())
  if (!allowed.has('boolean')) candidates.push(fc.boolean())
  if (!allowed.has('object')) candidates.push(fc.constant({ unexpected: true }))
  if (!allowed.has('array')) candidates.push(fc.constant([1, 'two']))
  if (!allowed.has('null')) candidates.push(fc.constant(null))
  return candidates.length ? fc.oneof(...candidates) : fc.constant(Symbol.for('unbreakable'))
}

/**
 * Valid bodies with one constraint broken: a required property missing, a property of the wrong
 * type, a string past its maxLength, or the whole body of the wrong type.
 */
export function invalidValue(schema: Schema): fc.Arbitrary<unknown> {
  const properties: Record<string, Schema> = schema?.properties ?? {}
  const keys = Object.keys(properties)
  const mutations: fc.Arbitrary<unknown>[] = [wrongType(schema)]
  if (keys.length) {
    const valid = validValue(schema) as fc.Arbitrary<Record<string, unknown>>
    mutations.push(
      fc
        .tuple(valid, fc.constantFrom(...keys))
        .chain(([body, key]) => wrongType(properties[key] as Schema).map((bad) => ({ ...body, [key]: bad }))),
    )
    const required: string[] = (schema.required ?? []).filter((k: string) => k in properties)
    if (required.length)
      mutations.push(
        fc.tuple(valid, fc.constantFrom(...required)).map(([body, key]) => {
          const copy = { ...body }
          delete copy[key]
          return copy
        }),
      )
    const bounded = keys.filter((k) => typeof properties[k]?.maxLength === 'number')
    if (bounded.length)
      mutations.push(
        fc.tuple(valid, fc.constantFrom(...bounded)).map(([body, key]) => ({
          ...body,
          [key]: 'x'.repeat((properties[key]?.maxLength as number) + 1),
        })),
      )
  }
  return fc.oneof(...mutations).filter((value) => value !== Symbol.for('unbreakable'))
}
