import { describe, expect, it } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

const ROOT = join(import.meta.dir, '../..')

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(ROOT, dir, f))
}

const importsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map(
    (m) => m[1] as string,
  )

// Dependencies point one way: routes → projections → services → db. Row types live in db/rows.ts
// so that services (and a second store) never need a dialect's projection module.
describe('layering', () => {
  it('keeps db, services, lib and render free of imports from projections and routes', () => {
    const wrongWay = ['db', 'src/services', 'src/lib', 'src/render'].flatMap(sources).flatMap((file) =>
      importsOf(file)
        .filter((spec) => /(^|\/)(projections|routes)(\/|$)/.test(spec))
        .map((spec) => `${relative(ROOT, file)} imports ${spec}`),
    )
    expect(wrongWay).toEqual([])
  })
})

// The store port (db/store.ts): everything but db/ reaches the database through a transaction's
// `tx` — `readTransaction(store, (tx) => …)` or `writeTransaction` — never through the store's raw
// handles, whose statements would run outside the store's lock (inside another request's open
// transaction, once transactions await). Listed exceptions run where nothing else can: startup,
// shutdown, and a CLI command on its own store.
describe('the store port', () => {
  it('leaves the raw handles (store.sqlite, store.orm, its lock and write pause) to db/', () => {
    const uses = new Map<string, number>()
    for (const file of sources('src')) {
      const n = [...readFileSync(file, 'utf8').matchAll(/\b(store|source)\.(sqlite|orm|lock|writes)\b/g)]
        .length
      if (n > 0) uses.set(relative(ROOT, file), n)
    }
    expect(Object.fromEntries(uses)).toEqual({})
  })

  // Both engines behind one port: outside db/ nothing asks which engine it runs on, casts to one,
  // or writes one engine's SQL. The one exception is choosing which store to open: `serve`
  // (src/server.ts) and the CLI's commands on a SQLite file (backup, restore, migrate-store).
  it('has no engine branch, engine cast or engine-specific SQL outside db/', () => {
    const OPENERS = new Set(['src/server.ts', 'src/cli.ts'])
    const ENGINE = [
      /\.dialect\s*[!=]==\s*'(sqlite|postgres)'/,
      /\bPgStore\b/,
      /\bSqliteStore\b/,
      /\bPartial<Pg/,
      /::(text|json|bigint|int|numeric)\b/,
      /\bctid\b/,
      /\bPRAGMA\b/,
    ]
    const found: string[] = []
    for (const file of sources('src'))
      for (const [index, line] of readFileSync(file, 'utf8').split('\n').entries()) {
        if (/^\s*(\/\/|\*|\/\*)/.test(line)) continue // comments may name an engine
        if (OPENERS.has(relative(ROOT, file)) && /\bSqliteStore\b/.test(line)) continue
        for (const pattern of ENGINE)
          if (pattern.test(line)) found.push(`${relative(ROOT, file)}:${index + 1}: ${line.trim()}`)
      }
    expect(found).toEqual([])
  })

  // Both engines run the same queries through db/query.ts's verbs, not through methods grafted
  // onto a library's classes.
  it("patches no library's prototypes", () => {
    const patched = [...sources('src'), ...sources('db')].filter((file) =>
      /\.prototype\b/.test(readFileSync(file, 'utf8')),
    )
    expect(patched.map((file) => relative(ROOT, file))).toEqual([])
  })
})
