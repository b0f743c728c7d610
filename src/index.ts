// The entry point of `bun src/index.ts` and of the compiled binary. IMPORTANT: no exports here —
// a bytecode-compiled binary crashes at start when its entry module has named exports.
import { main } from './cli'

const code = await main(process.argv.slice(2))
if (code >= 0) process.exit(code)
