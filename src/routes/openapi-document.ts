type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Elysia's generated document, made valid and lean for clients and linters:
 * - TypeBox's custom `error` messages (a string keyword, ours for validation answers) are not
 *   JSON Schema: dropped. Properties named `error` are objects and stay.
 * - A nullable string union comes out as `{type: [string, null], enum: [...]}`, whose enum then
 *   refuses the null it means to allow: null joins the enum.
 * - Request bodies are JSON: Elysia also lists form and text encodings of every JSON schema,
 *   which tripled the document and invited clients to send what the body guard refuses.
 */
export function polishOpenApi(document: Json): Json {
  const copy = structuredClone(document)
  repairSchemas(copy)
  for (const item of Object.values((copy.paths ?? {}) as Record<string, Json>))
    for (const operation of Object.values(item)) {
      if (!isObject(operation)) continue
      const content = (operation.requestBody as Json | undefined)?.content
      if (isObject(content) && 'application/json' in content)
        (operation.requestBody as Json).content = { 'application/json': content['application/json'] }
    }
  return extractComponents(copy)
}

/** Values, not schemas: an `error` field inside them is data. */
const DATA_KEYWORDS = new Set(['example', 'examples', 'default', 'const', 'enum'])

function repairSchemas(node: unknown) {
  if (Array.isArray(node)) for (const item of node) repairSchemas(item)
  else if (isObject(node)) {
    if (typeof node.error === 'string') delete node.error
    // A union of string literals comes out as `anyOf: [{const, type}…]` from some routes and as
    // `enum` from others: one form (enum), so equal schemas are equal in the document too.
    if (
      Array.isArray(node.anyOf) &&
      node.anyOf.length > 0 &&
      node.anyOf.every(
        (b) => isObject(b) && 'const' in b && b.type === 'string' && Object.keys(b).length === 2,
      )
    ) {
      node.type = 'string'
      node.enum = (node.anyOf as Json[]).map((b) => b.const)
      delete node.anyOf
    }
    if (
      Array.isArray(node.type) &&
      node.type.includes('null') &&
      Array.isArray(node.enum) &&
      !node.enum.includes(null)
    )
      node.enum.push(null)
    for (const [key, value] of Object.entries(node)) if (!DATA_KEYWORDS.has(key)) repairSchemas(value)
  }
}

/** Keywords whose values are schemas (or maps/lists of schemas) in JSON Schema 2020-12. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs'])
const SCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'allOf', 'prefixItems'])
const SCHEMA_VALUES = new Set(['items', 'additionalProperties', 'not', 'contains', 'propertyNames'])
/** Below this many characters a schema is cheaper inline than behind a $ref. */
const MIN_SHARED_SIZE = 120

const canonical = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(',')}]`
    : isObject(value)
      ? `{${Object.keys(value)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
          .join(',')}}`
      : JSON.stringify(value)

const pascal = (text: string) =>
  text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]?.toUpperCase() + w.slice(1))
    .join('')

/** Every schema root of the document with a name for where it sits (operation, status, part). */
function schemaRoots(document: Json): { holder: Json; key: string; name: string }[] {
  const roots: { holder: Json; key: string; name: string }[] = []
  for (const item of Object.values((document.paths ?? {}) as Record<string, Json>))
    for (const operation of Object.values(item)) {
      if (!isObject(operation)) continue
      const op = pascal(String(operation.operationId ?? 'operation'))
      for (const parameter of (operation.parameters ?? []) as Json[])
        if (isObject(parameter.schema))
          roots.push({ holder: parameter, key: 'schema', name: `${op}${pascal(String(parameter.name))}` })
      const bodyContent = (operation.requestBody as Json | undefined)?.content
      if (isObject(bodyContent))
        for (const media of Object.values(bodyContent))
          if (isObject(media) && isObject(media.schema))
            roots.push({ holder: media, key: 'schema', name: `${op}Body` })
      for (const [status, response] of Object.entries((operation.responses ?? {}) as Record<string, Json>)) {
        if (!isObject(response.content)) continue
        for (const media of Object.values(response.content as Json)) {
          if (!isObject(media) || !isObject(media.schema)) continue
          // The response's description is the response's, not its schema's (shared schemas are
          // used by many responses with different descriptions).
          if (media.schema.description === response.description) delete media.schema.description
          roots.push({ holder: media, key: 'schema', name: `${op}${status}` })
        }
      }
    }
  return roots
}

/** Calls `visit` on every schema below `schema` (not itself), with a name suffix for each. */
function forEachChildSchema(
  schema: Json,
  visit: (holder: Json | unknown[], key: string | number, suffix: string) => void,
) {
  for (const [keyword, value] of Object.entries(schema)) {
    if (SCHEMA_MAPS.has(keyword) && isObject(value))
      for (const name of Object.keys(value)) visit(value, name, pascal(name))
    else if (SCHEMA_LISTS.has(keyword) && Array.isArray(value))
      value.forEach((_, i) => {
        visit(value, i, `Option${i + 1}`)
      })
    else if (SCHEMA_VALUES.has(keyword) && isObject(value))
      visit(schema, keyword, keyword === 'items' ? 'Item' : pascal(keyword))
  }
}

/**
 * Moves every schema used more than once (and big enough to be worth a $ref) into
 * `components.schemas`, and every response used more than once (the error envelopes of each
 * status) into `components.responses`. Names come from a schema's `title`, else from where it
 * first appears (`GetApp200`, `CreateSandboxBody…`). The document shrinks several-fold and Swagger
 * UI renders it at once.
 */
export function extractComponents(document: Json): Json {
  const roots = schemaRoots(document)
  if (!isObject(document.components)) document.components = {}
  const components = document.components as Json
  components.schemas ??= {}
  const schemas = components.schemas as Record<string, Json>
  const names = new Map<string, string>()
  const uniqueName = (wanted: string, taken: Record<string, unknown>) => {
    let name = wanted || 'Schema'
    for (let i = 2; name in taken; i++) name = `${wanted}${i}`
    return name
  }
  // Outermost repeats first, then recount: a part repeated only because its parent was is then
  // seen once (inside the parent's component) and stays inline.
  for (let pass = 0; pass < 20; pass++) {
    const counts = new Map<string, number>()
    const count = (schema: unknown, isRoot: boolean) => {
      if (!isObject(schema) || typeof schema.$ref === 'string') return
      const key = canonical(schema)
      if (!isRoot && key.length >= MIN_SHARED_SIZE) counts.set(key, (counts.get(key) ?? 0) + 1)
      forEachChildSchema(schema, (holder, k) => count((holder as Record<string | number, unknown>)[k], false))
    }
    for (const root of roots) count(root.holder[root.key], false)
    for (const body of Object.values(schemas)) count(body, true)
    let extracted = 0
    const shared = (schema: Json, name: string): Json => {
      if (typeof schema.$ref === 'string') return schema
      const key = canonical(schema)
      if ((counts.get(key) ?? 0) >= 2) {
        let ref = names.get(key)
        if (!ref) {
          ref = uniqueName(typeof schema.title === 'string' ? pascal(schema.title) : name, schemas)
          names.set(key, ref)
          schemas[ref] = structuredClone(schema)
          extracted++
        }
        return { $ref: `#/components/schemas/${ref}` }
      }
      descend(schema, name)
      return schema
    }
    const descend = (schema: Json, name: string) =>
      forEachChildSchema(schema, (holder, k, suffix) => {
        const h = holder as Record<string | number, unknown>
        if (isObject(h[k])) h[k] = shared(h[k] as Json, `${name}${suffix}`)
      })
    for (const root of roots) root.holder[root.key] = shared(root.holder[root.key] as Json, root.name)
    for (const [name, body] of Object.entries(schemas)) descend(body, name)
    if (extracted === 0) break
  }

  // Responses: the same description and content at many operations (401, 429, 500 of each dialect…).
  const responseCounts = new Map<string, number>()
  const operations = Object.values((document.paths ?? {}) as Record<string, Json>).flatMap((item) =>
    Object.values(item).filter(isObject),
  )
  for (const operation of operations)
    for (const response of Object.values((operation.responses ?? {}) as Record<string, Json>)) {
      const key = canonical(response)
      responseCounts.set(key, (responseCounts.get(key) ?? 0) + 1)
    }
  components.responses ??= {}
  const responses = components.responses as Record<string, Json>
  const responseNames = new Map<string, string>()
  for (const operation of operations)
    for (const [status, response] of Object.entries((operation.responses ?? {}) as Record<string, Json>)) {
      const key = canonical(response)
      if ((responseCounts.get(key) ?? 0) < 2 || !isObject(response.content)) continue
      let name = responseNames.get(key)
      if (!name) {
        const media = Object.values(response.content as Json)[0] as Json | undefined
        const schemaRef = isObject(media?.schema) ? String(media.schema.$ref ?? '') : ''
        const base = schemaRef.split('/').pop() || 'Response'
        name = uniqueName(base.endsWith(status) ? base : `${base}${status}`, responses)
        responseNames.set(key, name)
        responses[name] = response
      }
      ;(operation.responses as Record<string, Json>)[status] = { $ref: `#/components/responses/${name}` }
    }
  return document
}

/**
 * The same document as OpenAPI 3.0.3, for the Swagger UI page only: Swagger UI renders 3.1
 * through a much slower resolver (measured: first operation visible 1.8 s after navigation with
 * 3.1, 1.1 s with 3.0 here). Clients keep the 3.1 document at /docs/json. The conversion covers
 * what our schemas use: `type: [t, "null"]` and `anyOf` with a null branch become `nullable`,
 * `const` an `enum` of one, `examples` an `example`.
 */
export function toOpenApi30ForDisplay(document: Json): Json {
  const copy = structuredClone(document)
  copy.openapi = '3.0.3'
  // 3.0 has no `webhooks`: the page leaves them out (docs/webhooks.md and /docs/json have them).
  delete copy.webhooks
  // The page's "OAS 3.0" badge says which rendition it shows; say why, and where the 3.1 one is.
  if (isObject(copy.info))
    copy.info.description = `${copy.info.description ?? ''}\n\nThis page shows an OpenAPI 3.0.3 rendition of the document, which Swagger UI draws faster; the document itself is OpenAPI 3.1, at [/docs/json](/docs/json).`
  const convert = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) convert(item)
      return
    }
    if (!isObject(node)) return
    if (Array.isArray(node.type)) {
      const types = (node.type as string[]).filter((t) => t !== 'null')
      if (types.length < (node.type as string[]).length) node.nullable = true
      if (types.length === 1) node.type = types[0]
      else {
        delete node.type
        node.anyOf = types.map((type) => ({ type }))
      }
    }
    if (Array.isArray(node.anyOf)) {
      const branches = (node.anyOf as Json[]).filter((b) => !(isObject(b) && b.type === 'null'))
      if (branches.length < (node.anyOf as Json[]).length) {
        node.nullable = true
        if (branches.length === 1 && isObject(branches[0])) {
          delete node.anyOf
          Object.assign(node, branches[0])
        } else node.anyOf = branches
      }
    }
    if ('const' in node) {
      node.enum = [node.const]
      delete node.const
    }
    if (Array.isArray(node.examples) && !('example' in node)) {
      node.example = node.examples[0]
      delete node.examples
    }
    for (const [key, value] of Object.entries(node))
      if (key !== 'example' && key !== 'default' && key !== 'enum') convert(value)
  }
  convert(copy.paths)
  convert(copy.components)
  return copy
}
