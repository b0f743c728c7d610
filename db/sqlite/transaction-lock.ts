/**
 * One store's turn to run a transaction: a FIFO async lock. On SQLite every transaction runs on
 * the store's one connection, and a transaction whose function awaits would otherwise let another
 * request's statements run inside it (and its COMMIT or ROLLBACK decide theirs). Taken without a
 * promise when free, which is nearly always: SQLite's statements do not wait on anything.
 */
export class TransactionLock {
  #held = false
  readonly #waiting: (() => void)[] = []

  get held(): boolean {
    return this.#held
  }

  /** Takes the lock if it is free, synchronously. */
  tryAcquire(): boolean {
    if (this.#held) return false
    this.#held = true
    return true
  }

  /** Resolves once the lock is this caller's; callers are served in arrival order. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve()
    return new Promise((resolve) => this.#waiting.push(resolve))
  }

  /** Hands the lock to the next caller waiting, or frees it. */
  release() {
    const next = this.#waiting.shift()
    if (next) next()
    else this.#held = false
  }
}
