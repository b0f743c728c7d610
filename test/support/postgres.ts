import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SQL } from 'bun'
import { runToEnd } from './binary'

/**
 * A throwaway PostgreSQL cluster for tests: `initdb` in a temporary directory, a server listening
 * on a unix socket only (no TCP port to collide with), removed again by `stop()`. Needs Debian's
 * `postgresql` package (.ci/run installs it); `initdb` refuses to run as root, so as root the
 * tools run as the `postgres` user the package creates (../shared/toolchain.md).
 */
export interface PostgresCluster {
  /** A client on the cluster's `postgres` database. */
  sql: SQL
  /** The settings a client needs: `new SQL({ url, path })`. */
  url: string
  socketPath: string
  /** Stops the server (fast shutdown) and keeps its data: an outage. */
  pause(): void
  /** Starts the paused server again on the same socket. */
  resume(): void
  stop(): void
}

/** The directory of `initdb` and `pg_ctl`, or null when PostgreSQL is not installed. */
export function postgresBin(): string | null {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a))
  for (const version of versions)
    if (existsSync(join(root, version, 'bin', 'initdb'))) return join(root, version, 'bin')
  return null
}

export const hasPostgres = () => postgresBin() !== null

/** Runs one of PostgreSQL's client tools (pg_dump, pg_restore) against the cluster's socket. */
export function postgresTool(cluster: PostgresCluster, tool: string, args: string[]) {
  const socketDir = cluster.socketPath.replace(/\/\.s\.PGSQL\.\d+$/, '')
  return runToEnd(
    [join(postgresBin() as string, tool), '-h', socketDir, '-U', 'custodian', ...args],
    process.env,
  )
}

function run(argv: string[], asPostgres: boolean) {
  const command = asPostgres ? ['runuser', '-u', 'postgres', '--', ...argv] : argv
  const result = Bun.spawnSync(command, { stdout: 'pipe', stderr: 'pipe' })
  if (result.exitCode !== 0)
    throw new Error(`${argv.join(' ')} failed (${result.exitCode}): ${result.stderr.toString()}`)
}

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = postgresBin()
  if (!bin) throw new Error('PostgreSQL is not installed (Debian package postgresql)')
  const asPostgres = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'custodian-pg-'))
  if (asPostgres) {
    const { uid, gid } = userIds('postgres')
    chownSync(dir, uid, gid)
  }
  const data = join(dir, 'data')
  run(
    [
      join(bin, 'initdb'),
      '-D',
      data,
      '-A',
      'trust',
      '-U',
      'custodian',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ],
    asPostgres,
  )
  // fsync off: a test cluster is thrown away, and its durability is not what the tests measure.
  // max_connections 300: a PostgreSQL pass creates a database and a pool (4 connections, closed
  // after 2 s idle) per test app, ~20 apps a second in places — past the default 100 (a full pass
  // ran out of connections where it happened to be busiest).
  const start = () =>
    run(
      [
        join(bin, 'pg_ctl'),
        '-D',
        data,
        '-o',
        `-k ${dir} -c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=300`,
        '-l',
        join(dir, 'log'),
        '-w',
        'start',
      ],
      asPostgres,
    )
  start()
  const url = 'postgres://custodian@localhost/postgres'
  const socketPath = join(dir, '.s.PGSQL.5432')
  const sql = new SQL({ url, path: socketPath, max: 4 })
  return {
    sql,
    url,
    socketPath,
    pause: () => run([join(bin, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop'], asPostgres),
    resume: start,
    stop() {
      void sql.close()
      try {
        run([join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'], asPostgres)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}

function userIds(name: string): { uid: number; gid: number } {
  const line = require('node:fs')
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l: string) => l.startsWith(`${name}:`))
  if (!line) throw new Error(`no user ${name}: is the postgresql package installed?`)
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}
