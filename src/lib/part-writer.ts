import type { FileStorage } from './storage'

/** Bytes per stored part of a large file (exports): what a writer or a reader holds at a time. */
export const PART_BYTES = 8 * 1024 * 1024

export const partPath = (directory: string, index: number) =>
  `${directory}/part-${String(index).padStart(6, '0')}`

/**
 * Writes a large file into storage as parts of exactly PART_BYTES (the last one shorter), so it
 * works the same on both backends (a directory; PostgreSQL's stored_files rows) and memory stays
 * bounded by one part. Counts the size and the SHA-256 of the whole as it goes.
 */
export class PartWriter {
  private chunks: Uint8Array[] = []
  private buffered = 0
  private readonly hash = new Bun.CryptoHasher('sha256')
  parts = 0
  size = 0

  constructor(
    private readonly storage: FileStorage,
    private readonly directory: string,
    private readonly partBytes = PART_BYTES,
  ) {}

  push(bytes: Uint8Array) {
    if (bytes.length === 0) return
    this.chunks.push(bytes)
    this.buffered += bytes.length
    this.size += bytes.length
    this.hash.update(bytes)
  }

  /** Writes every full part buffered (all that is left with `final`). Answers whether it wrote. */
  async flush(final = false): Promise<boolean> {
    let wrote = false
    while (this.buffered >= this.partBytes || (final && this.buffered > 0)) {
      const take = Math.min(this.partBytes, this.buffered)
      const part = new Uint8Array(take)
      let filled = 0
      while (filled < take) {
        const head = this.chunks[0] as Uint8Array
        const n = Math.min(head.length, take - filled)
        part.set(head.subarray(0, n), filled)
        filled += n
        if (n === head.length) this.chunks.shift()
        else this.chunks[0] = head.subarray(n)
      }
      this.buffered -= take
      await this.storage.write(partPath(this.directory, this.parts), part, 0o600)
      this.parts++
      wrote = true
    }
    return wrote
  }

  async finish() {
    await this.flush(true)
    return { parts: this.parts, size: this.size, sha256: this.hash.digest('hex') }
  }
}

/**
 * The bytes [start, end] (inclusive) of a file written by PartWriter, read one part at a time.
 */
export function readParts(
  storage: FileStorage,
  directory: string,
  start: number,
  end: number,
  partBytes = PART_BYTES,
) {
  let index = Math.floor(start / partBytes)
  let offset = start - index * partBytes
  let remaining = end - start + 1
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (remaining <= 0) return controller.close()
      const part = await storage.read(partPath(directory, index))
      if (!part) return controller.error(new Error(`part ${index} of ${directory} is missing`))
      const slice = part.subarray(offset, Math.min(part.length, offset + remaining))
      remaining -= slice.length
      index++
      offset = 0
      controller.enqueue(slice)
      if (remaining <= 0) controller.close()
    },
  })
}
