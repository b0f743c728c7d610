import { describe, expect, it } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { ENV_HELP } from '../../src/config'

// The README is what a user reads first; depth lives in docs/. These keep both honest: the
// README short, every setting documented, and every document a comment or page points at there.
const ROOT = join(import.meta.dir, '../..')
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')
// Walked, not asked of git: the image build runs this suite without git.
const tracked = () => [
  ...[...new Bun.Glob('{src,db,test,docs}/**/*.{ts,md}').scanSync({ cwd: ROOT })].filter(
    (f) => !f.includes('node_modules'),
  ),
  ...new Bun.Glob('.ci/*').scanSync({ cwd: ROOT, dot: true }),
  'README.md',
  'compose.yaml',
]

describe('documentation', () => {
  it('keeps the README to what a user needs first (at most 300 lines)', () => {
    expect(read('README.md').split('\n').length).toBeLessThanOrEqual(300)
  })

  it('documents every configuration variable in docs/operations.md', () => {
    const operations = read('docs/operations.md')
    for (const name of Object.keys(ENV_HELP))
      expect({ name, documented: operations.includes(`\`${name}`) }).toEqual({ name, documented: true })
  })

  it('points only at documents that exist', () => {
    const missing: string[] = []
    for (const file of tracked()) {
      if (!existsSync(join(ROOT, file))) continue
      const text = read(file)
      // `docs/…md` anywhere; relative Markdown links inside docs/ and the README.
      for (const [, path] of text.matchAll(/\b(docs\/[\w./-]+\.md)\b/g))
        if (!existsSync(join(ROOT, path as string))) missing.push(`${file} → ${path}`)
      if (file.endsWith('.md'))
        for (const [, link] of text.matchAll(/\]\(([^)#\s]+\.md)(#[^)]*)?\)/g))
          if (!/^https?:/.test(link as string) && !existsSync(join(ROOT, dirname(file), link as string)))
            missing.push(`${file} → ${link}`)
    }
    expect(missing).toEqual([])
  })
})
