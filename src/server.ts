import { chmodSync, mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { unavailability } from '../db/errors'
import { DatabaseInUse, takeInstanceLock } from '../db/sqlite/instance-lock'
import { DatabaseNewerThanBinary, migrate } from '../db/sqlite/migrate'
import { movedMessage, movedTo } from '../db/sqlite/moved'
import { openStore, type SqliteStore, writeProblem } from '../db/sqlite/store'
import { isMemoryPath, type Store } from '../db/store'
import { buildDeps, createApp, type DepsOptions } from './app'
import type { Config } from './config'
import type { AppDeps } from './deps'
import { SECOND } from './lib/clock'
import { writeProblemIn } from './lib/disk-space'
import { errorFields } from './lib/logger'
import { Metrics } from './lib/metrics'
import { usePseudonymKey } from './lib/pseudonym'
import { SELF } from './lib/self'
import { lastResortResponse } from './plugins/error-envelope'
import { checkBillingCredentials } from './services/billing-health'
import { applyErasureLedger } from './services/deletion'
import { copyErasuresFromStore, ERASURES_CHANNEL } from './services/erasure-ledger'
import { reconcileHolds } from './services/hold-ledger'
import { causeOf, StartupError } from './startup-error'
import { startArchiveWorker } from './workers/archives'
import { purgeOnce } from './workers/purge'
import { startScheduler } from './workers/scheduler'
import { startWebhookWorker } from './workers/webhooks'

/** Never Bun's development error page (source, stack) nor its bare text 500: see error-envelope.ts. */
const NO_ERROR_PAGES = { development: false, error: lastResortResponse } as const

/** How long in-flight requests get to finish after SIGTERM/SIGINT before they are cut. */
export const SHUTDOWN_GRACE_MS = 10 * SECOND

export function ensureDataDirectories(config: Config) {
  const make = (variable: string, value: string, dir: string) => {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
    } catch (error) {
      throw new StartupError(
        `Cannot create the directory ${dir} for ${variable}=${JSON.stringify(value)}: ${causeOf(error)}`,
      )
    }
  }
  if (!isMemoryPath(config.databasePath))
    make('DATABASE_PATH', config.databasePath, dirname(config.databasePath))
  make('STORAGE_DIR', config.storageDir, config.storageDir)
}

/**
 * Keeps this instance's erasure ledger holding every erasure and hold, whichever instance made it: on
 * each announcement (PostgreSQL NOTIFY) and every worker interval, which catches up a missed one.
 */
async function startLedgerSync(deps: AppDeps) {
  const copy = () =>
    copyErasuresFromStore(deps.store, deps.erasureLedger)
      .then(() => reconcileHolds(deps.store, deps.erasureLedger, false))
      .catch((error) => {
        const down = unavailability(error)
        if (down) deps.outages.failed(down.dependency, down.reason)
        else deps.logger.warn('could not copy completed erasures into the ledger', errorFields(error))
      })
  const unlisten = await deps.store
    .onAnnouncement(ERASURES_CHANNEL, () => void copy())
    .catch((error) => {
      deps.logger.warn(
        'not told of other instances’ erasures (copied every worker interval instead)',
        errorFields(error),
      )
      return async () => {}
    })
  const timer = setInterval(() => void copy(), deps.config.workerIntervalMs)
  timer.unref?.()
  return {
    async stop() {
      clearInterval(timer)
      await unlisten().catch(() => {})
    },
  }
}

/** One server per SQLite file: a second one (or a restore) would lose writes (db/sqlite/instance-lock.ts). */
function lockForServe(config: Config) {
  if (config.databaseUrl || isMemoryPath(config.databasePath)) return null
  try {
    return takeInstanceLock(resolve(config.databasePath), 'serve')
  } catch (error) {
    if (error instanceof DatabaseInUse)
      throw new StartupError(
        `Cannot serve DATABASE_PATH=${JSON.stringify(config.databasePath)}: ${error.message}. One server per SQLite file; several instances need PostgreSQL (DATABASE_URL).`,
      )
    throw new StartupError(
      `Cannot open the database DATABASE_PATH=${JSON.stringify(config.databasePath)} (its lock file ${config.databasePath}.lock): ${causeOf(error)}`,
    )
  }
}

/** `serve` on SQLite writes deploys and icons to STORAGE_DIR: one that cannot take a file stops the start. */
function checkStorageWritable(config: Config) {
  if (config.databaseUrl) return // files live in PostgreSQL (db/pg/files.ts)
  const problem = writeProblemIn(config.storageDir, 4096)
  if (problem)
    throw new StartupError(
      `STORAGE_DIR=${JSON.stringify(config.storageDir)} cannot be written (${problem}): deploys and icons are stored there; give the server a writable directory with free space.`,
    )
}

/**
 * Opens, migrates and checks the database of `serve` and the CLI: any failure becomes a
 * StartupError naming DATABASE_PATH — including a file that opens but cannot be written.
 */
export async function openDatabase(config: Config): Promise<Store> {
  if (config.databaseUrl) return openPostgres(config, config.databaseUrl)
  const where = `DATABASE_PATH=${JSON.stringify(config.databasePath)}`
  let store: SqliteStore
  try {
    store = openStore(config.databasePath)
  } catch (error) {
    throw new StartupError(`Cannot open the database ${where}: ${causeOf(error)}`)
  }
  const moved = movedTo(store)
  if (moved) {
    store.close()
    throw new StartupError(movedMessage(where, moved))
  }
  try {
    migrate(store)
  } catch (error) {
    store.close()
    if (error instanceof DatabaseNewerThanBinary)
      throw new StartupError(`Refusing the database ${where}: ${error.message}.`)
    throw new StartupError(`Cannot migrate the database ${where}: ${causeOf(error)}`)
  }
  // A deployment made before files were created 0600 is tightened at its next start.
  for (const file of [config.databasePath, `${config.databasePath}-wal`, `${config.databasePath}-shm`])
    try {
      chmodSync(file, 0o600)
    } catch {
      // Not there (yet), or not ours: SQLite and the write check below report what matters.
    }
  const problem = writeProblem(store)
  if (!problem && store.epochs.sharedProblem) {
    store.close()
    throw new StartupError(
      `Cannot open the change-epoch file beside ${where} (${store.epochs.sharedProblem}): run as a user who may write it, as for the database itself.`,
    )
  }
  if (problem) {
    store.close()
    throw new StartupError(
      `The database ${where} cannot be written (${problem}): check the owner and mode of the file and of its directory, where SQLite keeps -wal and -shm.`,
    )
  }
  return store
}

/** The PostgreSQL store of DATABASE_URL, reachable and migrated, or a StartupError naming it. */
async function openPostgres(config: Config, url: string): Promise<Store> {
  // Loaded on demand: a server on SQLite never builds the PostgreSQL renderings.
  const { createPgStore } = await import('../db/pg/store')
  const store = createPgStore(url, {
    max: config.databasePoolSize,
    onPseudonymKey: config.pseudonymKey ? undefined : (key) => usePseudonymKey(key),
  })
  try {
    await store.ready
  } catch (error) {
    store.close()
    if (error instanceof DatabaseNewerThanBinary)
      throw new StartupError(`Refusing the database DATABASE_URL=${store.path}: ${error.message}.`)
    throw new StartupError(`Cannot open the database DATABASE_URL=${store.path}: ${causeOf(error)}`)
  }
  return store
}

/**
 * `custodian serve`: migrate, listen, and on SIGTERM/SIGINT stop accepting, let in-flight
 * requests finish (up to 10 s), checkpoint the WAL and close the database, then exit 0.
 */
export async function serve(
  config: Config,
  options: Pick<DepsOptions, 'deletionFaults'> = {},
): Promise<void> {
  ensureDataDirectories(config)
  checkStorageWritable(config)
  const instanceLock = lockForServe(config)
  // Process metrics (CPU, memory, event-loop lag) only in a real server, not per test app.
  const store = await openDatabase(config)
  const deps = buildDeps({ ...options, config, store, metrics: new Metrics({ processMetrics: true }) })
  for (const migration of store.appliedMigrations) deps.logger.info('migration applied', { migration })
  // IMPORTANT: before the first request: a database restored from a backup must forget again
  // every account erased after that backup was taken (the erasure ledger).
  deps.erasureLedger.ensureExists()
  const reapplied = await applyErasureLedger(deps)
  if (reapplied.erased > 0 || reapplied.receiptsCopied > 0)
    deps.logger.warn('re-applied erasures recorded after this database was backed up', reapplied)
  if (deps.rateLimitStore.ready && !(await deps.rateLimitStore.ready()))
    deps.logger.warn(
      'starting without Redis: rate limits are counted per instance until it answers, and /readyz says not ready',
    )
  const app = createApp(deps)
  const upkeep = await store.startUpkeep((message, fields) => deps.logger.warn(message, fields))
  try {
    app.listen({
      port: config.port,
      hostname: config.host,
      // IMPORTANT: Bun's default reusePort lets a second server bind the same port silently and
      // split traffic with this one; a port clash must fail loudly instead.
      reusePort: false,
      // The body guard answers 413 (in the envelope) on the bytes it reads; this is only the
      // backstop past which Bun itself cuts a request off.
      maxRequestBodySize: Math.max(config.maxBodyBytes, 4 * 1024 * 1024) * 2,
      ...NO_ERROR_PAGES,
    })
  } catch (error) {
    await upkeep.stop()
    deps.store.close()
    const code = (error as { code?: string }).code
    const cause =
      code === 'EADDRINUSE' || /in use/i.test(String(error))
        ? 'the port is in use by another process'
        : code === 'ENOENT' || code === 'EADDRNOTAVAIL'
          ? 'HOST is not an address of this machine (nor a name that resolves to one)'
          : causeOf(error)
    throw new StartupError(
      `Cannot listen on HOST=${JSON.stringify(config.host)} PORT=${config.port}: ${cause}`,
    )
  }
  const tls = config.tlsPort ? startTlsListener(app, deps, config.tlsPort) : null
  void checkBillingCredentials(deps)
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${app.server?.port}`
  // The store actually used (a PostgreSQL URL without its password), not DATABASE_PATH.
  const database = store.description
  deps.logger.info('listening', { url, docs: `${url}/docs`, database })
  if (config.logLevel !== 'silent')
    process.stderr.write(
      `Custodian is listening on ${url}\n  Database:         ${database}\n  API docs:         ${url}/docs\n  First credential: ${SELF} user create --email you@example.com\n`,
    )

  const workers = startScheduler(
    [{ name: 'purge', run: () => purgeOnce(deps) }],
    config.workerIntervalMs,
    deps.logger,
    deps.store.instanceLocks?.tryJob,
  )
  const ledgerSync = await startLedgerSync(deps)
  const webhooks = startWebhookWorker(deps)
  const archives = startArchiveWorker(deps)

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    deps.logger.info('shutting down', { signal })
    const server = app.server
    if (server) {
      const graceful = server.stop(false)
      const timeout = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), SHUTDOWN_GRACE_MS).unref(),
      )
      if ((await Promise.race([graceful.then(() => 'done' as const), timeout])) === 'timeout')
        await server.stop(true)
    }
    tls?.stop()
    await workers.stop()
    await webhooks.stop()
    await archives.stop()
    await ledgerSync.stop()
    await deps.rateLimitStore.close?.()
    deps.outages.stop()
    await upkeep.stop()
    try {
      deps.store.close({ checkpoint: true })
    } finally {
      instanceLock?.release()
    }
    deps.logger.info('stopped', { signal })
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

/**
 * HTTPS for custom domains: one listener with every issued certificate, chosen by SNI. Started
 * once a certificate exists and rebuilt whenever certificates change — through this instance at
 * once; with several instances (shared file storage) also when another instance's certificate
 * appears, found by reading the stored certificates every worker interval.
 */
export function startTlsListener(app: ReturnType<typeof createApp>, deps: AppDeps, port: number) {
  let server: ReturnType<typeof Bun.serve> | null = null
  let stopped = false
  let served = ''
  const start = async () => {
    const entries = await deps.certificateStore.entries()
    const digest = new Bun.CryptoHasher('sha256').update(JSON.stringify(entries)).digest('hex')
    if (stopped || digest === served) return
    served = digest
    server?.stop(false)
    server = null
    if (entries.length === 0) return
    server = Bun.serve({
      port,
      hostname: deps.config.host,
      reusePort: false,
      ...NO_ERROR_PAGES,
      tls: entries.map((e) => ({ serverName: e.serverName, cert: e.cert, key: e.key })),
      fetch: (request) => app.handle(request),
    })
    deps.logger.info('tls listener serving', { port, certificates: entries.length })
  }
  // One rebuild at a time, in order: certificates are read asynchronously now.
  let rebuilding: Promise<void> = Promise.resolve()
  const restart = () => {
    rebuilding = rebuilding
      .then(start)
      .catch((error) => deps.logger.error('tls listener failed', errorFields(error)))
  }
  restart()
  const unsubscribe = deps.certificateStore.onChange(restart)
  const poll = deps.storage.backend.shared ? setInterval(restart, deps.config.workerIntervalMs) : null
  return {
    /** Resolves once the listener reflects the certificates stored so far. */
    ready: () => rebuilding,
    stop() {
      stopped = true
      if (poll) clearInterval(poll)
      unsubscribe()
      server?.stop(false)
    },
  }
}
