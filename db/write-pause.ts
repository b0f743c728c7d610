/**
 * Holds back this process's write transactions for a moment while reads go on: what lets the
 * checkpoint worker copy the WAL's last frames without the event loop waiting for it
 * (db/checkpointer.ts). A write that has begun is never interrupted: `pause()` resolves once
 * those in flight have committed, and writes arriving meanwhile wait for `resume()`.
 *
 * The hot path is a counter: `enter()` returns undefined unless a pause is on.
 */
export class WritePause {
  #paused: Promise<void> | null = null
  #resume: (() => void) | null = null
  #inFlight = 0
  #drained: (() => void) | null = null

  get paused(): boolean {
    return this.#paused !== null
  }

  /** Before a write transaction takes its turn: undefined to go on now, or a promise to wait for. */
  enter(): Promise<void> | undefined {
    if (this.#paused !== null) return this.#paused.then(() => this.enter())
    this.#inFlight++
    return undefined
  }

  /** After the write transaction committed or rolled back. */
  leave() {
    this.#inFlight--
    if (this.#inFlight === 0 && this.#drained) {
      const drained = this.#drained
      this.#drained = null
      drained()
    }
  }

  /** Holds back new writes; resolves once the writes already begun have finished. */
  pause(): Promise<void> {
    if (this.#paused === null) this.#paused = new Promise((resolve) => (this.#resume = resolve))
    if (this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => (this.#drained = resolve))
  }

  /** Lets the writes held back go, in the order they arrived. */
  resume() {
    const resume = this.#resume
    this.#paused = null
    this.#resume = null
    this.#drained = null
    resume?.()
  }
}
