import { canonicalJson } from '../../lib/canonical-json'
import { sha256Hex } from '../../lib/crypto'
import { stateOf } from '../request-state'

/**
 * What makes two requests "the same" (docs/spec/traffic.md §3): method, path, query and the body — its
 * canonical JSON for JSON bodies (key order and spacing do not matter), the form fields and file
 * digests for multipart (the boundary does not matter), the raw bytes otherwise. Reads the bytes
 * the body guard kept, so the route still has them.
 */
export async function requestFingerprint(request: Request, path: string): Promise<string> {
  const url = request.url
  const q = url.indexOf('?')
  const query = q === -1 ? '' : url.slice(q + 1)
  return sha256Hex(`${request.method}\n${path}\n${query}\n${await bodyDigest(request)}`)
}

async function bodyDigest(request: Request): Promise<string> {
  const { body: bytes, json } = stateOf(request)
  if (bytes === undefined) return ''
  const type = request.headers.get('content-type') ?? ''
  if (/^multipart\/form-data/i.test(type)) {
    try {
      const form = await new Response(bytes, { headers: { 'content-type': type } }).formData()
      const fields: [string, unknown][] = []
      for (const [name, value] of form.entries())
        fields.push([
          name,
          typeof value === 'string'
            ? value
            : { file: sha256Hex(await value.arrayBuffer()), type: value.type },
        ])
      fields.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      return sha256Hex(canonicalJson(fields))
    } catch {
      return 'unparseable-multipart'
    }
  }
  // A JSON body comes parsed by the body guard (which refused it if it was not JSON): its
  // canonical form, so key order and spacing do not matter. Anything else: the raw bytes.
  if (json !== undefined) return sha256Hex(canonicalJson(json))
  return sha256Hex(bytes)
}
