import { Database } from 'bun:sqlite'

/**
 * Who holds a SQLite deployment: `serve` for as long as it runs, `restore` while it replaces the
 * file. A second server on the same file, or a restore under a running server (whose later writes
 * would be lost when the file is swapped), is refused, naming the holder.
 *
 * The lock is SQLite's own file lock on `<database>.lock`: a RESERVED lock held by an open
 * transaction. The kernel releases it when the process dies, even by kill -9, so a crash never
 * leaves a stale lock behind; readers may still read the holder's pid and command from it.
 */
export interface InstanceLock {
  release(): void
}

export interface LockHolder {
  pid: number
  command: string
  since: string
}

export class DatabaseInUse extends Error {
  override name = 'DatabaseInUse'
  constructor(
    readonly holder: LockHolder | null,
    databasePath: string,
  ) {
    super(
      holder
        ? `${databasePath} is in use by process ${holder.pid} (custodian ${holder.command}, since ${holder.since})`
        : `${databasePath} is in use by another process`,
    )
  }
}

export const lockPathOf = (databasePath: string) => `${databasePath}.lock`

/** Takes the deployment's lock for `command`, or throws DatabaseInUse naming who has it. */
export function takeInstanceLock(databasePath: string, command: string): InstanceLock {
  const db = new Database(lockPathOf(databasePath), { create: true })
  try {
    db.exec('PRAGMA busy_timeout = 0')
    db.exec('PRAGMA journal_mode = DELETE')
    db.exec(
      'CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, command TEXT NOT NULL, since TEXT NOT NULL)',
    )
    db.exec('BEGIN IMMEDIATE')
    db.exec('DELETE FROM holder')
    db.run('INSERT INTO holder VALUES (?, ?, ?)', [process.pid, command, new Date().toISOString()])
    db.exec('COMMIT')
    // Held from here until release or exit: an open write transaction keeps the RESERVED lock.
    db.exec('BEGIN IMMEDIATE')
  } catch (error) {
    const holder = readHolder(db)
    db.close()
    if (/busy|locked/i.test(String(error))) throw new DatabaseInUse(holder, databasePath)
    throw error
  }
  return {
    release() {
      try {
        db.exec('ROLLBACK')
      } catch {
        // Already released.
      }
      db.close()
    },
  }
}

function readHolder(db: Database): LockHolder | null {
  try {
    return (db.query('SELECT pid, command, since FROM holder').get() as LockHolder | null) ?? null
  } catch {
    return null
  }
}
