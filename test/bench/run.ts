// `bun run bench [name ...]`: runs the named benchmarks (all by default) and prints figures.
// BENCH_SECONDS sets the length of each load run (default 10).
import { benchAwaitCost } from './await-cost'
import { benchBodyRead } from './body-read.bench'
import { benchConsole } from './console.bench'
import { benchDocsPage } from './docs-page.bench'
import { benchErasure } from './erasure.bench'
import { benchErasureProof } from './erasure-proof.bench'
import { benchExport } from './export.bench'
import { benchHosting } from './hosting.bench'
import { benchMixCost } from './mix-cost'
import { benchSandboxCreateCost } from './sandbox-create-cost'
import { benchSandboxCreates, benchSandboxes } from './sandboxes.bench'
import { benchStartup } from './startup.bench'
import { benchStatus } from './status.bench'
import { benchTraffic } from './traffic.bench'
import { benchWebhooks } from './webhooks.bench'

const seconds = Number(process.env.BENCH_SECONDS ?? 10)
// Session tokens for /v1 routes in bench servers.
process.env.BENCH_JWT_SECRET ??= 'bench-secret-0123456789abcdef'
process.env.AUTH_JWT_SECRET ??= process.env.BENCH_JWT_SECRET
const benches: Record<string, () => Promise<void>> = {
  status: () => benchStatus(seconds),
  traffic: () => benchTraffic(seconds),
  export: () => benchExport(),
  erasure: () => benchErasure(),
  proof: () => benchErasureProof(),
  hosting: () => benchHosting(seconds),
  startup: () => benchStartup(),
  mix: () => benchMixCost(),
  await: () => benchAwaitCost(),
  body: () => benchBodyRead(seconds),
  docs: () => benchDocsPage(),
  creates: () => benchSandboxCreates(seconds),
  webhooks: () => benchWebhooks(seconds),
  console: () => benchConsole(),
  sandboxes: async () => {
    await benchSandboxCreateCost()
    await benchSandboxes(seconds)
  },
}

const selected = process.argv.slice(2)
const names = selected.length ? selected : Object.keys(benches)
console.log(
  `# Custodian benchmarks — ${new Date().toISOString()} — Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores`,
)
for (const name of names) {
  const bench = benches[name]
  if (!bench) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(benches).join(', ')}`)
    process.exit(2)
  }
  await bench()
}
