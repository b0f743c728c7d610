import type { LoadResult } from './load'

export function header(title: string) {
  console.log(`\n## ${title}`)
}

/** One row per measured target, side by side. */
export function loadTable(rows: { name: string; result: LoadResult; peakRssMiB?: number }[]) {
  console.log('| target | req/s | p50 ms | p99 ms | max ms | non-2xx | errors | peak RSS MiB |')
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const { name, result: r, peakRssMiB } of rows)
    console.log(
      `| ${name} | ${r.rps.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.maxMs.toFixed(1)} | ${r.non2xx} | ${r.errors} | ${peakRssMiB?.toFixed(1) ?? '-'} |`,
    )
}
