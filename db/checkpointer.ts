import { isMemoryPath, type Store } from './client'

/**
 * WAL checkpoints on a thread of their own.
 *
 * SQLite's auto-checkpoint runs inside the COMMIT that crosses 1,000 WAL pages: that request's
 * thread copies every page back into the database file and fsyncs it. On the server that thread
 * is the event loop, so under mixed load (about six checkpoints a second, most of the server's
 * pwrite and pread calls) every other request waited behind it. `serve` turns the auto-checkpoint
 * off on its connection and runs PASSIVE checkpoints from a worker thread with its own
 * connection instead: PASSIVE never blocks readers or writers, it copies what it can and the next
 * writer restarts the WAL from the top once it is all copied. CLI processes (`custodian purge`,
 * backups) keep SQLite's auto-checkpoint.
 *
 * The worker is a Blob module so the compiled binary needs no second entry point. If it fails,
 * the connection gets its auto-checkpoint back: the WAL never grows unchecked.
 */
const WORKER_SOURCE = `
import { Database } from 'bun:sqlite'
let db = null
let timer = null
self.onmessage = (event) => {
  const message = event.data
  if (message.type === 'start') {
    db = new Database(message.path, { readwrite: true, create: false })
    // A checkpoint waits for no one: PASSIVE never invokes the busy handler for its work.
    db.exec('PRAGMA busy_timeout = 0')
    db.exec('PRAGMA secure_delete = ON')
    const checkpoint = db.query('PRAGMA wal_checkpoint(PASSIVE)')
    timer = setInterval(() => {
      try {
        checkpoint.get()
      } catch (error) {
        // SQLITE_BUSY (another checkpoint is running: a TRUNCATE after an erasure) is routine.
        if (!String(error).includes('busy') && !String(error).includes('locked'))
          postMessage({ type: 'failed', error: String(error) })
      }
    }, message.intervalMs)
    postMessage({ type: 'started' })
  } else if (message.type === 'stop') {
    clearInterval(timer)
    db?.close()
    postMessage({ type: 'stopped' })
  }
}
`

/** The checkpoint interval: at ~6,000 WAL pages a second that is ~1,500 pages a pass. */
export const CHECKPOINT_INTERVAL_MS = 250

/** SQLite's default auto-checkpoint threshold (pages), restored when the worker goes away. */
const AUTO_CHECKPOINT_PAGES = 1000

export interface BackgroundCheckpoints {
  /** Stops the worker and gives the connection its auto-checkpoint back. */
  stop(): Promise<void>
}

export async function startBackgroundCheckpoints(
  store: Store,
  onProblem: (message: string, fields: Record<string, unknown>) => void,
  intervalMs = CHECKPOINT_INTERVAL_MS,
): Promise<BackgroundCheckpoints | null> {
  if (isMemoryPath(store.path)) return null
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'application/javascript' }))
  // The URL stays registered while the worker lives: it loads the module after this returns.
  const worker = new Worker(url)
  const restoreAutoCheckpoint = () =>
    store.sqlite.exec(`PRAGMA wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`)
  let stopped: (() => void) | null = null
  const started = new Promise<boolean>((resolve) => {
    worker.onmessage = (event: MessageEvent) => {
      const message = event.data as { type: string; error?: string }
      if (message.type === 'started') resolve(true)
      else if (message.type === 'stopped') stopped?.()
      else if (message.type === 'failed') onProblem('background checkpoint failed', { error: message.error })
    }
    worker.onerror = (event) => {
      restoreAutoCheckpoint()
      onProblem('checkpoint worker stopped; auto-checkpoint restored', { error: String(event.message) })
      resolve(false)
    }
  })
  worker.postMessage({ type: 'start', path: store.path, intervalMs })
  if (!(await started)) {
    worker.terminate()
    URL.revokeObjectURL(url)
    return null
  }
  store.sqlite.exec('PRAGMA wal_autocheckpoint = 0')
  // The worker alone must not keep a finished CLI or test process alive.
  worker.unref()
  return {
    async stop() {
      restoreAutoCheckpoint()
      const done = new Promise<void>((resolve) => {
        stopped = resolve
      })
      worker.postMessage({ type: 'stop' })
      await Promise.race([done, Bun.sleep(2000)])
      worker.terminate()
      URL.revokeObjectURL(url)
    },
  }
}
