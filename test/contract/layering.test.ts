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
