import { chromium } from 'playwright-core'

/** Debian's chromium (playwright-core drives it; no browser is downloaded). */
export const CHROMIUM = Bun.which('chromium') ?? Bun.which('chromium-browser')
if (!CHROMIUM && process.env.CI) throw new Error('chromium is required in CI (.ci/run installs it)')

/** A headless Chromium that reaches for nothing by itself (no updates, sync or QUIC). */
export const launchChromium = () =>
  chromium.launch({
    executablePath: CHROMIUM as string,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  })
