import webpWasm from '@jsquash/webp/codec/dec/webp_dec.wasm' with { type: 'file' }
import decodeWebp, { init as initWebpDecoder } from '@jsquash/webp/decode.js'
import type { Jimp } from 'jimp'

export type ImageType = 'image/png' | 'image/jpeg' | 'image/webp'

export interface ImageInfo {
  type: ImageType
  width: number
  height: number
}

/** Pixels allowed before decoding (a small file can expand into gigabytes). */
const MAX_PIXELS = 40_000_000
const MAX_SIDE = 10_000

export class ImageError extends Error {
  override name = 'ImageError'
}

/**
 * The type and size of an image from its first bytes — never from the declared content type —
 * or null when the bytes are not a PNG, JPEG or WebP.
 */
export function sniffImage(bytes: Uint8Array): ImageInfo | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const ascii = (at: number, length: number) => String.fromCharCode(...bytes.subarray(at, at + length))
  if (bytes.length >= 24 && bytes[0] === 0x89 && ascii(1, 3) === 'PNG' && ascii(12, 4) === 'IHDR')
    return { type: 'image/png', width: view.getUint32(16), height: view.getUint32(20) }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    // Walk the JPEG segments to the first start-of-frame marker.
    let at = 2
    while (at + 9 < bytes.length) {
      if (bytes[at] !== 0xff) return null
      const marker = bytes[at + 1] as number
      if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        at += 2
        continue
      }
      const length = view.getUint16(at + 2)
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
        return { type: 'image/jpeg', height: view.getUint16(at + 5), width: view.getUint16(at + 7) }
      at += 2 + length
    }
    return null
  }
  if (bytes.length >= 30 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') {
    const chunk = ascii(12, 4)
    if (chunk === 'VP8 ')
      return {
        type: 'image/webp',
        width: view.getUint16(26, true) & 0x3fff,
        height: view.getUint16(28, true) & 0x3fff,
      }
    if (chunk === 'VP8L') {
      const b = view.getUint32(21, true)
      return { type: 'image/webp', width: (b & 0x3fff) + 1, height: ((b >> 14) & 0x3fff) + 1 }
    }
    if (chunk === 'VP8X') {
      const w = (bytes[24] as number) | ((bytes[25] as number) << 8) | ((bytes[26] as number) << 16)
      const h = (bytes[27] as number) | ((bytes[28] as number) << 8) | ((bytes[29] as number) << 16)
      return { type: 'image/webp', width: w + 1, height: h + 1 }
    }
  }
  return null
}

let webpReady: Promise<unknown> | null = null
/** Jimp is loaded with the first icon: evaluating it at start-up cost ~80 ms of every start. */
let jimpModule: Promise<typeof import('jimp')> | null = null

async function decode(bytes: Uint8Array, info: ImageInfo) {
  jimpModule ??= import('jimp')
  const { Jimp } = await jimpModule
  if (info.type !== 'image/webp')
    return Jimp.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  // The WASM decoder is embedded as a file (works inside the compiled binary) and compiled once.
  webpReady ??= Bun.file(webpWasm)
    .arrayBuffer()
    .then((wasm) => WebAssembly.compile(wasm))
    .then((module) => initWebpDecoder(module))
  await webpReady
  const copy = bytes.slice().buffer
  const image = await decodeWebp(copy)
  return new Jimp({ data: Buffer.from(image.data.buffer), width: image.width, height: image.height })
}

export interface ProcessedIcon {
  png: Uint8Array
  /** `#rrggbb` of the most common opaque colour. */
  color: string
}

/**
 * An app icon: decoded, cropped to fill 512×512, re-encoded as PNG (which drops every metadata
 * chunk of the upload), with its dominant colour.
 */
export async function processIcon(bytes: Uint8Array): Promise<ProcessedIcon> {
  const info = sniffImage(bytes)
  if (!info) throw new ImageError('The file is not a PNG, JPEG or WebP image.')
  if (
    info.width < 1 ||
    info.height < 1 ||
    info.width > MAX_SIDE ||
    info.height > MAX_SIDE ||
    info.width * info.height > MAX_PIXELS
  )
    throw new ImageError(
      `The image is ${info.width}×${info.height}; at most ${MAX_SIDE} pixels a side are accepted.`,
    )
  let image: InstanceType<typeof Jimp>
  try {
    image = (await decode(bytes, info)) as InstanceType<typeof Jimp>
  } catch {
    throw new ImageError('The image is corrupt or truncated.')
  }
  image.cover({ w: 512, h: 512 })
  const png = await image.getBuffer('image/png')
  return { png: new Uint8Array(png), color: dominantColor(image.bitmap.data) }
}

/** The most frequent colour among opaque pixels, in 4-bit buckets per channel, averaged within the bucket. */
export function dominantColor(rgba: Uint8Array | Buffer): string {
  const buckets = new Map<number, { n: number; r: number; g: number; b: number }>()
  for (let i = 0; i < rgba.length; i += 16) {
    const a = rgba[i + 3] as number
    if (a < 128) continue
    const r = rgba[i] as number
    const g = rgba[i + 1] as number
    const b = rgba[i + 2] as number
    const key = ((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4)
    const bucket = buckets.get(key) ?? { n: 0, r: 0, g: 0, b: 0 }
    bucket.n++
    bucket.r += r
    bucket.g += g
    bucket.b += b
    buckets.set(key, bucket)
  }
  let best: { n: number; r: number; g: number; b: number } | null = null
  for (const bucket of buckets.values()) if (!best || bucket.n > best.n) best = bucket
  if (!best) return '#ffffff'
  const hex = (v: number) =>
    Math.round(v / (best as { n: number }).n)
      .toString(16)
      .padStart(2, '0')
  return `#${hex(best.r)}${hex(best.g)}${hex(best.b)}`
}
