import { writeSync } from 'node:fs'

/**
 * Writes all of `text` to a file descriptor, synchronously. stdout into a pipe can be
 * non-blocking: a full pipe answers EAGAIN, and we wait a moment and go on; a reader that went
 * away (EPIPE, `| head`) ends the write quietly.
 */
export function writeAllSync(fd: number, text: string) {
  const bytes = new TextEncoder().encode(text)
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

/**
 * Log lines gathered and written together: at most every `flushMs` (or at once past 64 KiB),
 * and at exit. One write for many lines instead of one per request; a kill -9 loses at most the
 * last `flushMs` of lines (README, "Logs").
 */
export function bufferedWriter(fd = 1, flushMs = 50) {
  let buffer = ''
  let timer: ReturnType<typeof setTimeout> | null = null
  const flush = () => {
    if (timer) clearTimeout(timer)
    timer = null
    if (!buffer) return
    const text = buffer
    buffer = ''
    writeAllSync(fd, text)
  }
  process.on('exit', flush)
  return {
    write(line: string) {
      buffer += line
      if (buffer.length > 64 * 1024) flush()
      else if (!timer) {
        timer = setTimeout(flush, flushMs)
        timer.unref?.()
      }
    },
    flush,
  }
}
