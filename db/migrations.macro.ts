// A Bun macro: evaluated when the code is bundled (and when `bun` transpiles it), so the compiled
// binary carries every migration inside it and never reads db/migrations from disk at run time.
// The entries are built exactly like drizzle's own readMigrationFiles(), so a database migrated by
// the stock migrator is recognised and only newer migrations apply.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface EmbeddedMigration {
  sql: string[]
  bps: boolean
  folderMillis: number
  hash: string
  /** The file's name without `.sql` (`0007_partial_timeout_index`), for the log. */
  tag: string
}

/** `directory`: `migrations` (SQLite) or `migrations-pg` (PostgreSQL), beside this file. */
export function embeddedMigrations(directory = 'migrations'): EmbeddedMigration[] {
  // IMPORTANT: resolve from this file, not the working directory (`bun build` may run anywhere).
  const folder = join(import.meta.dir, directory)
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as {
    entries: { tag: string; when: number; breakpoints: boolean }[]
  }
  return journal.entries.map((entry) => {
    const query = readFileSync(join(folder, `${entry.tag}.sql`), 'utf8')
    return {
      sql: query.split('--> statement-breakpoint'),
      bps: entry.breakpoints,
      folderMillis: entry.when,
      hash: createHash('sha256').update(query).digest('hex'),
      tag: entry.tag,
    }
  })
}
