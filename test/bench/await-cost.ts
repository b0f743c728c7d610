import { Database } from 'bun:sqlite'
import { header } from './lib/report'

/**
 * What the store port's shape would cost on SQLite (README, architecture): eight prepared primary-
 * key lookups called directly (today), awaited one by one (async services), and yielded to a
 * generator driver run synchronously or asynchronously (the alternative). Three rounds.
 */
export async function benchAwaitCost() {
  header('Eight prepared SQLite lookups: direct, awaited, through a generator driver (µs per eight)')
  const db = new Database(':memory:')
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
  const insert = db.prepare('INSERT INTO t VALUES (?, ?)')
  for (let i = 0; i < 1000; i++) insert.run(i, `v${i}`)
  const lookup = db.prepare<{ v: string }, [number]>('SELECT v FROM t WHERE id = ?')
  const at = (n: number) => (lookup.get(n % 1000) as { v: string }).v.length

  type Query<T> = { run: () => T }
  function* query<T>(run: () => T): Generator<Query<T>, T, T> {
    return yield { run }
  }
  function* eightYielded(n: number): Generator<Query<number>, number, number> {
    let sum = 0
    for (let i = 0; i < 8; i++) sum += yield* query(() => at(n + i))
    return sum
  }
  const runSync = <T>(g: Generator<Query<unknown>, T, unknown>): T => {
    let step = g.next()
    while (!step.done) step = g.next(step.value.run())
    return step.value
  }
  const runAsync = async <T>(g: Generator<Query<unknown>, T, unknown>): Promise<T> => {
    let step = g.next()
    while (!step.done) step = g.next(await step.value.run())
    return step.value
  }
  const eightDirect = (n: number) => {
    let sum = 0
    for (let i = 0; i < 8; i++) sum += at(n + i)
    return sum
  }
  const eightAwaited = async (n: number) => {
    let sum = 0
    for (let i = 0; i < 8; i++) sum += await at(n + i)
    return sum
  }
  const N = 200_000
  const time = async (fn: (i: number) => unknown) => {
    const started = performance.now()
    for (let i = 0; i < N; i++) await fn(i)
    return (((performance.now() - started) * 1000) / N).toFixed(2)
  }
  console.log('| round | direct | awaited | generator, sync driver | generator, async driver |')
  console.log('|---:|---:|---:|---:|---:|')
  for (let round = 1; round <= 3; round++) {
    // The direct and sync-driver loops are timed without an await per call.
    let started = performance.now()
    for (let i = 0; i < N; i++) eightDirect(i)
    const direct = (((performance.now() - started) * 1000) / N).toFixed(2)
    started = performance.now()
    for (let i = 0; i < N; i++) runSync(eightYielded(i))
    const generatorSync = (((performance.now() - started) * 1000) / N).toFixed(2)
    const awaited = await time(eightAwaited)
    const generatorAsync = await time((i) => runAsync(eightYielded(i)))
    console.log(`| ${round} | ${direct} | ${awaited} | ${generatorSync} | ${generatorAsync} |`)
  }
  db.close()
}
