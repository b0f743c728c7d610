/** Closed-loop readers in this process that record when each request started and how long it took. */
export interface TimedSample {
  startedAt: number
  ms: number
  ok: boolean
}

export function startReaders(urls: { url: string; headers: Record<string, string> }[], concurrency: number) {
  const samples: TimedSample[] = []
  let running = true
  const workers = Array.from({ length: concurrency }, async (_, w) => {
    let i = w
    while (running) {
      const target = urls[i++ % urls.length] as (typeof urls)[number]
      const startedAt = performance.now()
      let ok = false
      try {
        const r = await fetch(target.url, { headers: target.headers })
        await r.arrayBuffer()
        ok = r.status === 200
      } catch {}
      samples.push({ startedAt, ms: performance.now() - startedAt, ok })
    }
  })
  return {
    samples,
    async stop() {
      running = false
      await Promise.all(workers)
    },
  }
}

export function summarise(samples: TimedSample[]) {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b)
  const pct = (p: number) => ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))] ?? 0
  return {
    n: ms.length,
    p50: pct(50),
    p99: pct(99),
    max: ms.at(-1) ?? 0,
    failed: samples.filter((s) => !s.ok).length,
  }
}
