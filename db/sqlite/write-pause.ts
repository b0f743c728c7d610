/**
 * Holds back this process's write transactions for a moment while reads go on: what lets the
 * checkpoint worker copy the WAL's last frames without the event loop waiting for it
 * (db/sqlite/checkpointer.ts). A write that has begun is never interrupted: `pause()` resolves once
 * those in flight have committed, and writes arriving meanwhile wait for `resume()`.
 *
 * The hot path is a counter: `enter()` returns undefined unless a pause is on.
 */
export class WritePause {
  #paused: Promise<void> | null = null
  #resume: (() => void) | null = null
  #inFlight = 0
  #drained: (() => void) | null = null
  #over: (() => boolean) | null = null

  get paused(): boolean {
    return this.#paused !== null
  }

  /** Before a write transaction takes its turn: undefined to go on now, or a promise to wait for. */
  enter(): Promise<void> | undefined {
    if (this.#paused !== null) {
      const paused = this.#paused
      // The first write after the reason for the pause is over lets the held ones go (no need to
      // wait for an event-loop turn, a message, to say so), and goes after them.
      if (this.#over?.()) this.resume()
      return paused.then(() => this.enter())
    }
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

  /**
   * Holds back new writes; resolves once the writes already begun have finished. `over`, when
   * given, is asked by each write that arrives meanwhile: true ends the pause there.
   */
  pause(over?: () => boolean): Promise<void> {
    this.#over = over ?? null
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
    this.#over = null
    resume?.()
  }
}
