/**
 * Serialises async work per key inside this process. Billing changes of one account run one at a
 * time, so two concurrent deploys cannot both read "2 seats" and both set the quantity to 3.
 * (Custodian is one process per database; several processes on one database file would need a
 * lock in the database instead.)
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>()

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
      return await fn()
    } finally {
      release()
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }
}
