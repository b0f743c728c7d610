// The entry point of `bun src/index.ts` and of the compiled binary. IMPORTANT: no exports here —
// a bytecode-compiled binary crashes at start when its entry module has named exports.
import { writeSync } from 'node:fs'
import { main } from './cli'

/**
 * IMPORTANT: command output is written synchronously, all of it, before the process exits. Into
 * a pipe, process.stdout.write is asynchronous and process.exit() dropped what was queued
 * (`custodian openapi | …` was cut at 64–128 KiB); Bun.write on the (non-blocking) pipe
 * misreported partial writes. A pipe that is full answers EAGAIN: wait a moment and go on. A reader
 * that went away (`| head`) ends the output quietly.
 */
function writeAll(line: string) {
  const bytes = new TextEncoder().encode(`${line}\n`)
  for (let at = 0; at < bytes.length; ) {
    try {
      at += writeSync(1, bytes, at)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EAGAIN') Bun.sleepSync(1)
      else if (code === 'EPIPE') return
      else throw error
    }
  }
}

const code = await main(process.argv.slice(2), writeAll)
if (code >= 0) process.exit(code)
