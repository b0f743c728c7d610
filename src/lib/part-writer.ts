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
  /** The part being filled, and how far. */
  private current: Uint8Array | null = null
  private filled = 0
  /** Parts filled and waiting to be written; buffers written, kept for the next parts. */
  private readonly full: Uint8Array[] = []
  private readonly spare: Uint8Array[] = []
  private readonly hash = new Bun.CryptoHasher('sha256')
  parts = 0
  size = 0

  constructor(
    private readonly storage: FileStorage,
    private readonly directory: string,
    private readonly partBytes = PART_BYTES,
  ) {}

  /**
   * Copies `bytes` into the part at once: the caller's chunk dies young (a chunk kept until its
   * part is written outlives a minor collection and waits for a full one — measured: ~150 MiB of
   * RSS at a million rows).
   */
  push(bytes: Uint8Array) {
    this.size += bytes.length
    this.hash.update(bytes)
    let at = 0
    while (at < bytes.length) {
      this.current ??= this.spare.pop() ?? new Uint8Array(this.partBytes)
      const n = Math.min(bytes.length - at, this.partBytes - this.filled)
      this.current.set(bytes.subarray(at, at + n), this.filled)
      this.filled += n
      at += n
      if (this.filled === this.partBytes) {
        this.full.push(this.current)
        this.current = null
        this.filled = 0
      }
    }
  }

  /** Writes every full part (and the last, short one with `final`). Answers whether it wrote. */
  async flush(final = false): Promise<boolean> {
    let wrote = false
    for (let part = this.full.shift(); part; part = this.full.shift()) {
      await this.write(part)
      this.spare.push(part)
      wrote = true
    }
    if (final && this.current && this.filled > 0) {
      await this.write(this.current.subarray(0, this.filled))
      this.current = null
      this.filled = 0
      wrote = true
    }
    return wrote
  }

  private async write(bytes: Uint8Array) {
    // A storage write is done with the bytes once it resolves: the buffer is reused after.
    await this.storage.write(partPath(this.directory, this.parts), bytes, 0o600)
    this.parts++
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
