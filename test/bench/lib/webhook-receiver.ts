// A webhook receiver in a process of its own (`bun webhook-receiver.ts`): answers 204, counts
// deliveries and measures each one's delay from the event's created_at. GET /stats reports,
// POST /reset starts over. Prints `READY {"url": …}`.
let count = 0
let firstAt = 0
let lastAt = 0
let delays: number[] = []
const ids = new Set<string>()
let duplicates = 0

const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(request) {
    const path = new URL(request.url).pathname
    if (path === '/stats') {
      const sorted = [...delays].sort((a, b) => a - b)
      const pct = (p: number) =>
        sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
      return Response.json({
        count,
        firstAt,
        lastAt,
        duplicates,
        delays: sorted.length,
        p50: pct(50),
        p99: pct(99),
        max: sorted.at(-1) ?? 0,
      })
    }
    if (path === '/reset') {
      count = 0
      firstAt = 0
      lastAt = 0
      delays = []
      duplicates = 0
      return new Response(null, { status: 204 })
    }
    const event = (await request.json()) as { id: string; created_at: string; data: { user_id?: string } }
    const now = Date.now()
    if (ids.has(event.id)) duplicates++
    ids.add(event.id)
    count++
    firstAt ||= now
    lastAt = now
    if (!event.data.user_id?.startsWith('seeded-')) delays.push(now - Date.parse(event.created_at))
    return new Response(null, { status: 204 })
  },
})
console.log(`READY ${JSON.stringify({ url: `http://127.0.0.1:${server.port}/hooks` })}`)
