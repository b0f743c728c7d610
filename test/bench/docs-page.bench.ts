import { chromium } from 'playwright-core'
import { createTestApp } from '../support/harness'

/**
 * How long /docs takes to show its first operation in headless Chromium: on the first visit to a
 * fresh server (the document is built and the UI script compressed, then compiled by the browser)
 * and once the script is cached. The browser test checks what the page shows; its time is here.
 */
export async function benchDocsPage(rounds = 5) {
  const executablePath = Bun.which('chromium') ?? Bun.which('chromium-browser')
  if (!executablePath) {
    console.log('## /docs page: skipped (no chromium installed)')
    return
  }
  const cold: number[] = []
  const cached: number[] = []
  for (let round = 0; round < rounds; round++) {
    const t = createTestApp()
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (r) => t.app.handle(r) })
    const browser = await chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    })
    try {
      const page = await browser.newPage()
      const visit = async () => {
        const started = performance.now()
        await page.goto(`http://127.0.0.1:${server.port}/docs`, { waitUntil: 'commit' })
        await page.waitForSelector('.opblock', { timeout: 30_000 })
        return performance.now() - started
      }
      cold.push(await visit())
      cached.push(await visit())
    } finally {
      await browser.close()
      server.stop(true)
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
  console.log(`## /docs page: first operation visible (median of ${rounds} rounds)`)
  console.log(`first visit ${median(cold).toFixed(0)} ms   cached ${median(cached).toFixed(0)} ms`)
}
