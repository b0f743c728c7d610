import type { SQL } from 'bun'
import { ChangeEpochs, type EpochTopic } from '../change-epochs'

type Snapshot = Map<number, number>

/**
 * Change epochs shared by every instance on one PostgreSQL database: the `change_epochs` rows,
 * raised by triggers in the transaction that makes a change (db/migrations-pg), are the counters.
 *
 * A request's cache lookups need the counters as of a moment after the request arrived: then a
 * change acknowledged to a client before it sent this request — through any instance — has
 * committed before the read began, and its raise is seen (a revoked key is refused on the very
 * next request, wherever it lands). So `fresh()` waits for a read that *starts* after the call:
 * the one in flight began earlier and does not count, the next one does. One read at a time,
 * shared by everyone waiting for it: under load a single round trip serves every request that
 * arrived during the previous one, and each request pays one round trip of latency, not of work.
 *
 * Each topic's counter is spread over 16 rows (id = shard × 10 + topic), one picked by the
 * writing connection's backend, and read as their sum: writes of different accounts raise
 * different rows and never queue on one row's lock until they commit (migration 0004).
 *
 * `current()` answers null, as without shared counters: a cache that does not ask `fresh()`
 * caches nothing here.
 */
export class PgChangeEpochs extends ChangeEpochs {
  private running: Promise<Snapshot> | null = null
  private queued: Promise<Snapshot> | null = null

  constructor(private readonly client: () => Promise<SQL>) {
    super(null, null)
  }

  override fresh(topic: EpochTopic): Promise<number | null> {
    return this.afterNow().then((snapshot) => snapshot.get(topic) ?? null)
  }

  /** A snapshot read by a query that started after this call. */
  private afterNow(): Promise<Snapshot> {
    if (this.running === null) return this.start()
    this.queued ??= this.running.then(
      () => this.startQueued(),
      () => this.startQueued(),
    )
    return this.queued
  }

  private startQueued(): Promise<Snapshot> {
    this.queued = null
    return this.start()
  }

  private start(): Promise<Snapshot> {
    const reading = this.read()
    this.running = reading
    const done = () => {
      if (this.running === reading) this.running = null
    }
    reading.then(done, done)
    return reading
  }

  private async read(): Promise<Snapshot> {
    const sql = await this.client()
    const rows =
      (await sql`SELECT id % 10 AS topic, sum(value)::bigint AS value FROM change_epochs GROUP BY 1`) as {
        topic: bigint | number
        value: bigint | number
      }[]
    return new Map(rows.map((row) => [Number(row.topic), Number(row.value)]))
  }
}
