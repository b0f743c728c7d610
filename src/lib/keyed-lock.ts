/** A lock every instance on one database respects (PostgreSQL's advisory locks, db/pg/locks.ts). */
export interface SharedLocks {
  hold<T>(key: string, fn: () => Promise<T>): Promise<T>
}

/**
 * Serialises async work per key. Billing changes of one account run one at a time, so two
 * concurrent deploys cannot both read "2 seats" and both set the quantity to 3. Within this
 * process by a queue per key; with `shared` (several instances on PostgreSQL) the holder then
 * also takes the database's lock for the key — after its turn here, so an instance holds at most
 * one database connection per key.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>()

  constructor(private readonly shared?: SharedLocks) {}

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    let release!: () => void
    const current = new Promise<void>((resolve) => {
      release = resolve
    })
    const tail = previous.then(() => current)
    this.tails.set(key, tail)
    await previous
    try {
      return await (this.shared ? this.shared.hold(key, fn) : fn())
    } finally {
      release()
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }
}
