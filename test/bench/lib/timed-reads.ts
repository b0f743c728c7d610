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

/**
 * Closed-loop writers: each creates an app for one of `keys` and deletes it again, recording both
 * requests (two writes of other accounts, each a transaction with the account's row lock).
 */
export function startWriters(base: string, keys: string[], concurrency: number) {
  const samples: TimedSample[] = []
  let running = true
  const timed = async (send: () => Promise<Response>, expect: number) => {
    const startedAt = performance.now()
    let response: Response | null = null
    try {
      response = await send()
    } catch {}
    const body = response ? await response.text() : ''
    samples.push({ startedAt, ms: performance.now() - startedAt, ok: response?.status === expect })
    return response?.status === expect ? body : null
  }
  const workers = Array.from({ length: concurrency }, async (_, w) => {
    const headers = { authorization: `Bearer ${keys[w % keys.length]}`, 'content-type': 'application/json' }
    for (let n = 0; running; n++) {
      const created = await timed(
        () =>
          fetch(`${base}/api/apps`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ appName: `w${w}-${n}` }),
          }),
        201,
      )
      if (!created) continue
      const { appId } = JSON.parse(created) as { appId: string }
      await timed(() => fetch(`${base}/api/apps/${appId}`, { method: 'DELETE', headers }), 204)
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
