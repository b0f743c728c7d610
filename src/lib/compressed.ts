import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

/**
 * A static body kept in its three encodings, made once on first use: what the client accepts is
 * sent (brotli, then gzip, else identity), with `Vary: Accept-Encoding` so caches keep them apart.
 */
export class CompressedBody {
  private readonly encodings: { br?: Uint8Array; gzip?: Uint8Array } = {}

  constructor(
    private readonly load: () => Uint8Array,
    private readonly headers: Record<string, string>,
  ) {}

  private identity: Uint8Array | undefined

  /** Each encoding is made the first time a client asks for it (browsers send br only over TLS). */
  private encoded(encoding: 'br' | 'gzip'): Uint8Array {
    const identity = this.identity ?? this.load()
    this.identity = identity
    this.encodings[encoding] ??=
      encoding === 'br'
        ? brotliCompressSync(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } })
        : gzipSync(identity, { level: 9 })
    return this.encodings[encoding]
  }

  respond(request: Request): Response {
    this.identity ??= this.load()
    const accepted = request.headers.get('accept-encoding') ?? ''
    const headers: Record<string, string> = { ...this.headers, vary: 'Accept-Encoding' }
    if (/\b(br|gzip)\b/.test(accepted)) {
      const encoding = /\bbr\b/.test(accepted) ? 'br' : 'gzip'
      const body = this.encoded(encoding)
      return new Response(body, { headers: { ...headers, 'content-encoding': encoding } })
    }
    return new Response(this.identity, { headers })
  }
}
