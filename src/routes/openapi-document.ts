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
  return copy
}

/** Values, not schemas: an `error` field inside them is data. */
const DATA_KEYWORDS = new Set(['example', 'examples', 'default', 'const', 'enum'])

function repairSchemas(node: unknown) {
  if (Array.isArray(node)) for (const item of node) repairSchemas(item)
  else if (isObject(node)) {
    if (typeof node.error === 'string') delete node.error
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
