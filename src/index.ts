// The entry point of `bun src/index.ts` and of the compiled binary. IMPORTANT: no exports here —
// a bytecode-compiled binary crashes at start when its entry module has named exports.
import { main } from './cli'
import { writeAllSync } from './lib/write-all'

// IMPORTANT: command output is written synchronously, all of it, before the process exits. Into a
// pipe, process.stdout.write is asynchronous and process.exit() dropped what was queued
// (`custodian openapi | …` was cut at 64–128 KiB); Bun.write on the pipe misreported partial writes.
const writeAll = (line: string) => writeAllSync(1, `${line}\n`)

// The database, its -wal and -shm, the data directory and stored files hold personal data: created
// readable by this user only, like backups, pseudonym.key and the erasure ledger.
process.umask(0o077)

// No top-level await: a bytecode-compiled binary (`bun build --bytecode`) is CommonJS.
main(process.argv.slice(2), writeAll).then(
  (code) => {
    if (code >= 0) process.exit(code)
  },
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  },
)
