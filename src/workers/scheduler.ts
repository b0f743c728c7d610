import { errorFields, type Logger } from '../lib/logger'

export interface Job {
  name: string
  run(): Promise<unknown> | unknown
}

/** Runs a job's pass if no other instance is running it; false when another is (db/pg/locks.ts). */
export type JobTurn = (name: string, run: () => Promise<unknown>) => Promise<boolean>

const alwaysOurs: JobTurn = async (_name, run) => {
  await run()
  return true
}

/**
 * Runs jobs on a fixed interval while the server serves. A pass never overlaps the previous one,
 * a failing job is logged and retried next time, and stop() waits for the pass in flight. With
 * several instances each job runs on one instance at a time (`turn`); the others skip that pass.
 */
export function startScheduler(jobs: Job[], intervalMs: number, logger: Logger, turn: JobTurn = alwaysOurs) {
  let running: Promise<void> | null = null
  let stopped = false
  const pass = async () => {
    for (const job of jobs) {
      if (stopped) return
      try {
        await turn(job.name, async () => job.run())
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
