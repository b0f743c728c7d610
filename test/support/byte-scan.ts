import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

/** Where a string was found: a file (or log) name and how many times. */
export type Hits = Record<string, Record<string, number>>

/**
 * Looks for each string as raw bytes in the database file, its `-wal` and `-shm`, every file under
 * the storage directory (contents and path names) and the captured log output — what an attacker
 * holding the server's files would grep. Returns only the strings that were found, with where.
 */
export function scanForStrings(
  places: { databasePath: string; storageDir: string; logs: string },
  strings: Record<string, string>,
): Hits {
  const blobs: [string, Buffer][] = []
  for (const suffix of ['', '-wal', '-shm']) {
    const path = `${places.databasePath}${suffix}`
    if (existsSync(path)) blobs.push([`db${suffix}`, readFileSync(path)])
  }
  const walk = (dir: string) => {
    if (!existsSync(dir)) return
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry)
      const name = relative(places.storageDir, path)
      blobs.push([`path:${name}`, Buffer.from(name)])
      if (statSync(path).isDirectory()) walk(path)
      else blobs.push([`file:${name}`, readFileSync(path)])
    }
  }
  walk(places.storageDir)
  blobs.push(['logs', Buffer.from(places.logs)])
  const hits: Hits = {}
  for (const [label, needle] of Object.entries(strings))
    for (const [where, blob] of blobs) {
      const n = countOccurrences(blob, Buffer.from(needle))
      if (n === 0) continue
      hits[label] = { ...hits[label], [where]: n }
    }
  return hits
}

function countOccurrences(haystack: Buffer, needle: Buffer): number {
  let count = 0
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) count++
  return count
}
