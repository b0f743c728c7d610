import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { isMemoryPath } from '../db/client'
import { buildDeps, createApp, type DepsOptions } from './app'
import type { Config } from './config'
import type { AppDeps } from './deps'
import { SECOND } from './lib/clock'
import { Metrics } from './lib/metrics'
import { lastResortResponse } from './plugins/error-envelope'
import { warmDocs } from './routes/docs'
import { applyErasureLedger } from './services/deletion'
import { purgeOnce } from './workers/purge'
import { startScheduler } from './workers/scheduler'

/** Never Bun's development error page (source, stack) nor its bare text 500: see error-envelope.ts. */
const NO_ERROR_PAGES = { development: false, error: lastResortResponse } as const

/** How long in-flight requests get to finish after SIGTERM/SIGINT before they are cut. */
export const SHUTDOWN_GRACE_MS = 10 * SECOND

export function ensureDataDirectories(config: Config) {
  if (!isMemoryPath(config.databasePath)) mkdirSync(dirname(config.databasePath), { recursive: true })
  mkdirSync(config.storageDir, { recursive: true })
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
  // Process metrics (CPU, memory, event-loop lag) only in a real server, not per test app.
  const deps = buildDeps({ ...options, config, metrics: new Metrics({ processMetrics: true }) })
  // IMPORTANT: before the first request: a database restored from a backup must forget again
  // every account erased after that backup was taken (the erasure ledger).
  const reapplied = await applyErasureLedger(deps)
  if (reapplied.erased > 0 || reapplied.receiptsCopied > 0)
    deps.logger.warn('re-applied erasures recorded after this database was backed up', reapplied)
  const app = createApp(deps)
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
  const tls = config.tlsPort ? startTlsListener(app, deps, config.tlsPort) : null
  setTimeout(() => void warmDocs(app).catch(() => undefined), 200).unref()
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${app.server?.port}`
  deps.logger.info('listening', { url, docs: `${url}/docs`, database: config.databasePath })
  if (config.logLevel !== 'silent')
    process.stderr.write(
      `Custodian is listening on ${url}\n  API docs:         ${url}/docs\n  First credential: custodian user create --email you@example.com\n`,
    )

  const workers = startScheduler(
    [{ name: 'purge', run: () => purgeOnce(deps) }],
    config.workerIntervalMs,
    deps.logger,
  )

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
    await deps.rateLimitStore.close?.()
    try {
      deps.store.sqlite.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    } finally {
      deps.store.close()
    }
    deps.logger.info('stopped', { signal })
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

/**
 * HTTPS for custom domains: one listener with every issued certificate, chosen by SNI. Started
 * once a certificate exists and rebuilt whenever certificates change.
 */
export function startTlsListener(app: ReturnType<typeof createApp>, deps: AppDeps, port: number) {
  let server: ReturnType<typeof Bun.serve> | null = null
  const start = () => {
    const entries = deps.certificateStore.entries()
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
  start()
  const unsubscribe = deps.certificateStore.onChange(start)
  return {
    stop() {
      unsubscribe()
      server?.stop(false)
    },
  }
}
