import { isMemoryPath } from '../store'
import type { SqliteStore as Store } from './store'

/**
 * WAL checkpoints on a thread of their own.
 *
 * SQLite's auto-checkpoint runs inside the COMMIT that crosses 1,000 WAL pages: that request's
 * thread copies every page back into the database file and fsyncs it. On the server that thread
 * is the event loop, so under mixed load (about six checkpoints a second, most of the server's
 * pwrite and pread calls) every other request waited behind it. `serve` turns the auto-checkpoint
 * off on its connection and runs PASSIVE checkpoints from a worker thread with its own
 * connection instead: PASSIVE never blocks readers or writers, it copies what it can.
 *
 * IMPORTANT: copying is not enough. SQLite restarts the WAL from its top only when a transaction
 * of the server's connection begins at a moment every frame has been copied back; with writes back
 * to back the worker's copy never catches up (new frames land while it copies), and the WAL grew
 * without bound — 1.95 GB in 40 s of `bun run bench:load`, kept until the next pause in writes.
 * So once the WAL holds `restartAtFrames` frames and the worker has nearly caught up, the server
 * holds back its write transactions (db/sqlite/write-pause.ts; reads go on) while the worker copies the
 * last frames: the next write restarts the WAL, and `journal_size_limit` gives the file back its
 * space.
 *
 * CLI processes (`custodian purge`, backups) keep SQLite's auto-checkpoint. The worker is a Blob
 * module so the compiled binary needs no second entry point. If it fails, the connection gets its
 * auto-checkpoint back: the WAL never grows unchecked.
 */
const WORKER_SOURCE = `
import { Database } from 'bun:sqlite'
let db = null
let timer = null
let checkpoint = null
const run = () => {
  try {
    return checkpoint.get()
  } catch (error) {
    // SQLITE_BUSY (another checkpoint is running: a TRUNCATE after an erasure) is routine.
    if (!String(error).includes('busy') && !String(error).includes('locked'))
      postMessage({ type: 'failed', error: String(error) })
    return null
  }
}
self.onmessage = (event) => {
  const message = event.data
  if (message.type === 'start') {
    db = new Database(message.path, { readwrite: true, create: false })
    // A checkpoint waits for no one: PASSIVE never invokes the busy handler for its work.
    db.exec('PRAGMA busy_timeout = 0')
    db.exec('PRAGMA secure_delete = ON')
    checkpoint = db.query('PRAGMA wal_checkpoint(PASSIVE)')
    timer = setInterval(() => {
      // Passes until it has (nearly) caught up with the writers: each copies what the last left.
      let state = null
      let caughtUp = false
      for (let pass = 0; pass < 8 && !caughtUp; pass++) {
        state = run()
        if (!state) return
        caughtUp = state.log - state.checkpointed <= message.caughtUpFrames
      }
      if (caughtUp && state.log >= message.restartAtFrames) postMessage({ type: 'restart-ready' })
    }, message.intervalMs)
    postMessage({ type: 'started' })
  } else if (message.type === 'final-pass') {
    // The server holds its writes back: nothing lands while this copies, so it catches up.
    let state = run()
    for (let pass = 1; pass < 8 && state && state.log > state.checkpointed; pass++) state = run()
    // Seen by the server's next write at once; the message may wait behind a busy event loop.
    Atomics.store(message.done, 0, 1)
    postMessage({ type: 'final-done' })
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

/**
 * The WAL is restarted once it holds this many frames (64 MiB). Each restart holds writes back for
 * the last pass — 4–19 ms under `bun run bench:load` (the copy and two fsyncs, growing over a run),
 * every write arriving meanwhile waiting — so not at SQLite’s 1,000 pages (four a second there)
 * but about once a second at that load; 49,152 and 65,536 frames measured no better. When writes
 * pause, the WAL restarts on its own, whatever its size.
 */
const RESTART_AT_FRAMES = 16_384

/** Frames the worker may leave for the server's last pass (more land before that pass runs). */
const CAUGHT_UP_FRAMES = 256

/** How long writes may be held back for the worker's last pass, should it never answer. */
const FINAL_PASS_TIMEOUT_MS = 1000

/**
 * After a restart the WAL file is cut back to this size (SQLite keeps its largest size otherwise):
 * twice the restart size, so the routine cycle never truncates, only a WAL that grew past it.
 */
const WAL_SIZE_LIMIT_BYTES = 2 * RESTART_AT_FRAMES * 4096

export interface BackgroundCheckpoints {
  /** Stops the worker and gives the connection its auto-checkpoint back. */
  stop(): Promise<void>
}

export async function startBackgroundCheckpoints(
  store: Store,
  onProblem: (message: string, fields: Record<string, unknown>) => void,
  {
    intervalMs = CHECKPOINT_INTERVAL_MS,
    restartAtFrames = RESTART_AT_FRAMES,
  }: { intervalMs?: number; restartAtFrames?: number } = {},
): Promise<BackgroundCheckpoints | null> {
  if (isMemoryPath(store.path)) return null
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'application/javascript' }))
  // The URL stays registered while the worker lives: it loads the module after this returns.
  const worker = new Worker(url)
  const restoreAutoCheckpoint = () =>
    store.sqlite.exec(`PRAGMA wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`)
  let stopped: (() => void) | null = null
  // The last frames are copied by the worker while the server holds back its writes (reads go
  // on): the event loop never waits for the copy and its fsyncs. Copying them on the server's own
  // connection instead held every request for 5–22 ms, the pass growing over a run (measured).
  let finishing = false
  let finishTimer: Timer | null = null
  // Set by the worker when its last pass is done: the server's next write ends the pause there
  // (its message took 5–12 ms more to arrive under load, measured).
  const finalPassDone = new Int32Array(new SharedArrayBuffer(4))
  const finishCheckpoint = async () => {
    finishing = true
    Atomics.store(finalPassDone, 0, 0)
    await store.writes.pause(() => Atomics.load(finalPassDone, 0) === 1)
    if (!finishing) return // stopped meanwhile
    worker.postMessage({ type: 'final-pass', done: finalPassDone })
    // A worker that never answers must not hold writes back.
    finishTimer = setTimeout(endFinish, FINAL_PASS_TIMEOUT_MS)
  }
  const endFinish = () => {
    if (finishTimer) clearTimeout(finishTimer)
    finishTimer = null
    finishing = false
    store.writes.resume()
  }
  const started = new Promise<boolean>((resolve) => {
    worker.onmessage = (event: MessageEvent) => {
      const message = event.data as { type: string; error?: string }
      if (message.type === 'started') resolve(true)
      else if (message.type === 'restart-ready') {
        if (!finishing) void finishCheckpoint()
      } else if (message.type === 'final-done') endFinish()
      else if (message.type === 'stopped') stopped?.()
      else if (message.type === 'failed') onProblem('background checkpoint failed', { error: message.error })
    }
    worker.onerror = (event) => {
      if (finishing) endFinish()
      restoreAutoCheckpoint()
      onProblem('checkpoint worker stopped; auto-checkpoint restored', { error: String(event.message) })
      resolve(false)
    }
  })
  worker.postMessage({
    type: 'start',
    path: store.path,
    intervalMs,
    restartAtFrames,
    caughtUpFrames: CAUGHT_UP_FRAMES,
  })
  if (!(await started)) {
    worker.terminate()
    URL.revokeObjectURL(url)
    return null
  }
  store.sqlite.exec('PRAGMA wal_autocheckpoint = 0')
  store.sqlite.exec(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`)
  // The worker alone must not keep a finished CLI or test process alive.
  worker.unref()
  return {
    async stop() {
      if (finishing) endFinish()
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
