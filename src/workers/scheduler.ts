import { errorFields, type Logger } from '../lib/logger'

export interface Job {
  name: string
  run(): Promise<unknown> | unknown
}

/**
 * Runs jobs on a fixed interval while the server serves. A pass never overlaps the previous one,
 * a failing job is logged and retried next time, and stop() waits for the pass in flight.
 */
export function startScheduler(jobs: Job[], intervalMs: number, logger: Logger) {
  let running: Promise<void> | null = null
  let stopped = false
  const pass = async () => {
    for (const job of jobs) {
      if (stopped) return
      try {
        await job.run()
      } catch (error) {
        logger.error('worker job failed', { job: job.name, ...errorFields(error) })
      }
    }
  }
  const timer = setInterval(() => {
    if (running || stopped) return
    running = pass().finally(() => {
      running = null
    })
  }, intervalMs)
  return {
    async stop() {
      stopped = true
      clearInterval(timer)
      await running
    },
  }
}
