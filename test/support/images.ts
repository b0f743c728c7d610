import encodeWebp from '@jsquash/webp/encode.js'
import { Jimp } from 'jimp'

/** A `width`×`height` image, left third red, rest blue — blue dominates. */
export function testBitmap(width = 300, height = 200) {
  const image = new Jimp({ width, height, color: 0x2050c0ff })
  for (let x = 0; x < Math.floor(width / 3); x++)
    for (let y = 0; y < height; y++) image.setPixelColor(0xff0000ff, x, y)
  return image
}

export async function pngBytes(width?: number, height?: number): Promise<Uint8Array> {
  return new Uint8Array(await testBitmap(width, height).getBuffer('image/png'))
}

export async function jpegBytes(): Promise<Uint8Array> {
  return new Uint8Array(await testBitmap().getBuffer('image/jpeg'))
}

export async function webpBytes(): Promise<Uint8Array> {
  const image = testBitmap()
  const data = new Uint8ClampedArray(image.bitmap.data)
  return new Uint8Array(
    await encodeWebp({
      data,
      width: image.width,
      height: image.height,
      colorSpace: 'srgb',
    } as unknown as Parameters<typeof encodeWebp>[0]),
  )
}

/** Inserts a tEXt chunk (metadata) right after IHDR. */
export function withPngText(png: Uint8Array, key: string, value: string): Uint8Array {
  const data = new TextEncoder().encode(`${key}\0${value}`)
  const chunk = new Uint8Array(12 + data.length)
  const view = new DataView(chunk.buffer)
  view.setUint32(0, data.length)
  chunk.set(new TextEncoder().encode('tEXt'), 4)
  chunk.set(data, 8)
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)))
  const ihdrEnd = 8 + 25
  const out = new Uint8Array(png.length + chunk.length)
  out.set(png.subarray(0, ihdrEnd))
  out.set(chunk, ihdrEnd)
  out.set(png.subarray(ihdrEnd), ihdrEnd + chunk.length)
  return out
}

/** A PNG whose header claims a huge size (a decompression bomb's calling card). */
export function hugePngHeader(): Uint8Array {
  const bytes = new Uint8Array(64)
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
  const view = new DataView(bytes.buffer)
  view.setUint32(16, 50_000)
  view.setUint32(20, 50_000)
  return bytes
}

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (const b of bytes) {
    c ^= b
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  }
  return (c ^ 0xffffffff) >>> 0
}
