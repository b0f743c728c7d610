import { writeSync } from 'node:fs'

/**
 * Writes all of `text` to a file descriptor, synchronously. stdout into a pipe can be
 * non-blocking: a full pipe answers EAGAIN, and we wait a moment and go on; a reader that went
 * away (EPIPE, `| head`) ends the write quietly.
 */
export function writeAllSync(fd: number, text: string | Uint8Array) {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text
  for (let at = 0; at < bytes.length; ) {
    try {
      at += writeSync(fd, bytes, at)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EAGAIN') Bun.sleepSync(1)
      else if (code === 'EPIPE') return
      else throw error
    }
  }
}

const FLUSH_AT_BYTES = 64 * 1024

/**
 * Log lines gathered and written together: at most every `flushMs` (or at once past 64 KiB),
 * and at exit. One write for many lines instead of one per request; a kill -9 loses at most the
 * last `flushMs` of lines (docs/operations.md, "Logs"). Lines are encoded as they arrive into one growing
 * buffer (Bun's ArrayBufferSink): appending to a string and encoding it at flush cost four times
 * as much per line.
 */
export function bufferedWriter(fd = 1, flushMs = 50) {
  const sink = new Bun.ArrayBufferSink()
  sink.start({ asUint8Array: true, stream: true, highWaterMark: 2 * FLUSH_AT_BYTES })
  let pending = 0
  let timer: ReturnType<typeof setTimeout> | null = null
  const flush = () => {
    if (timer) clearTimeout(timer)
    timer = null
    if (pending === 0) return
    pending = 0
    writeAllSync(fd, sink.flush() as Uint8Array)
  }
  process.on('exit', flush)
  return {
    write(line: string) {
      sink.write(line)
      pending += line.length
      if (pending > FLUSH_AT_BYTES) flush()
      else if (!timer) {
        timer = setTimeout(flush, flushMs)
        timer.unref?.()
      }
    },
    flush,
  }
}
