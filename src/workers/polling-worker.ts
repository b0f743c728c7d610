import { errorFields, type Logger } from '../lib/logger'

export interface PollingWorkerOptions {
  /** What the log line names when a pass fails ("webhook delivery"). */
  what: string
  /** One pass; answers how much it did (0: nothing was due, so it waits). */
  pass: () => Promise<number>
  /** How long an idle worker waits before looking again. */
  pollMs: number
  /** Subscribes `wake` to this process's own news of work (a write); answers the unsubscribe. */
  subscribe: (wake: () => void) => () => void
}

/**
 * A worker of `serve` that runs passes back to back while they find work, and otherwise waits
 * `pollMs` or until woken. A failing pass (the database away) is logged once per episode and
 * tried again on the next tick.
 */
export function startPollingWorker(logger: Logger, options: PollingWorkerOptions) {
  let stopped = false
  let failing = false
  let wake: (() => void) | null = null
  let woken = false
  const unsubscribe = options.subscribe(() => {
    woken = true
    wake?.()
  })
  const loop = (async () => {
    while (!stopped) {
      let done = 0
      try {
        done = await options.pass()
        failing = false
      } catch (error) {
        if (!failing) logger.warn(`${options.what} pass failed; retrying`, errorFields(error))
        failing = true
      }
      if (done === 0 && !stopped && !woken)
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, options.pollMs)
        })
      woken = false
    }
  })()
  return {
    async stop() {
      stopped = true
      unsubscribe()
      wake?.()
      await loop
    },
  }
}
