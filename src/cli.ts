import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { SignJWT } from 'jose'
import { isMemoryPath, openStore, type Store, writeTransaction } from '../db/client'
import { migrate } from '../db/migrate'
import pkg from '../package.json'
import { buildDeps, createApp } from './app'
import { type Config, ConfigError, loadConfig } from './config'
import { systemClock } from './lib/clock'
import { parseDuration } from './lib/duration'
import { loadPseudonymKey, usePseudonymKey } from './lib/pseudonym'
import { ensureDataDirectories, serve } from './server'
import { createUserWithTeam, findUserByEmail, personalTeam } from './services/accounts'
import { applyErasureLedger } from './services/deletion'
import { ErasureLedger } from './services/erasure-ledger'
import { createKey } from './services/keys'
import { purgeOnce } from './workers/purge'

const HELP = `custodian ${pkg.version} — account control plane (export and erasure done right)

Usage: custodian [command] [options]

Commands:
  serve                                   migrate, then serve HTTP (default)
  migrate                                 apply pending migrations and exit
  user create --email E [--operator]      create a user and print a fresh /api key once
  key create --email E [--kind orbit|runtime]
                                          mint a key for an existing user, printed once
  token --email E [--ttl 1h]              mint a session JWT with AUTH_JWT_SECRET (local use)
  purge                                   run the deletion/purge worker once and exit
  backup --to FILE                        copy the database into FILE (consistent, while serving)
  restore --from FILE                     replace the database with a backup (server stopped), then
                                          erase again every account erased since that backup
  openapi                                 print the OpenAPI document (what /docs/json serves)
  healthcheck                             exit 0 if the local server answers /healthz
  --version, --help

Options:
  --json                                  machine-readable output (user create, key create, token)

Configuration comes from the environment (PORT, HOST, DATABASE_PATH, …): see README.md.
`

type Out = (line: string) => void

/** Dispatches a command line; resolves to the process exit code. */
export async function main(
  argv: string[],
  out: Out = (l) => process.stdout.write(`${l}\n`),
): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`)
    return 2
  }
  const { positionals, values } = parsed
  if (values.version) {
    out(pkg.version)
    return 0
  }
  if (values.help) {
    out(HELP)
    return 0
  }
  const command = positionals.join(' ') || 'serve'
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`)
      return 78
    }
    throw error
  }
  switch (command) {
    case 'serve':
      await serve(config)
      return -1 // keep running
    case 'migrate':
      return withStore(config, (store) => {
        const { applied } = migrate(store)
        out(applied ? `Applied ${applied} migration(s).` : 'Database is up to date.')
        return 0
      })
    case 'user create':
      return withStore(config, (store) => createUserCommand(store, values, out))
    case 'key create':
      return withStore(config, (store) => createKeyCommand(store, values, out))
    case 'token':
      return withStore(config, (store) => tokenCommand(store, config, values, out))
    case 'healthcheck':
      return healthcheck(config)
    case 'backup':
      return withStore(config, (store) => backupCommand(store, values, out))
    case 'restore':
      return restoreCommand(config, values, out)
    case 'openapi':
      return openapiCommand(config, out)
    case 'purge':
      return withStore(config, async (store) => {
        const report = await purgeOnce(buildDeps({ config, store }))
        out(JSON.stringify(report))
        return 0
      })
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${HELP}`)
      return 2
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      operator: { type: 'boolean', default: false },
      kind: { type: 'string', default: 'orbit' },
      ttl: { type: 'string', default: '1h' },
      json: { type: 'boolean', default: false },
      to: { type: 'string' },
      from: { type: 'string' },
      version: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
}
type Values = ReturnType<typeof parse>['values']

async function withStore(config: Config, fn: (store: Store) => number | Promise<number>): Promise<number> {
  ensureDataDirectories(config)
  const store = openStore(config.databasePath)
  try {
    migrate(store)
    return await fn(store)
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`)
    return 1
  } finally {
    store.close()
  }
}

function requireEmail(values: Values): string {
  if (!values.email) throw new Error('--email is required')
  return values.email
}

function createUserCommand(store: Store, values: Values, out: Out): number {
  const email = requireEmail(values)
  const { user, team } = writeTransaction(store, (tx) =>
    createUserWithTeam(tx, systemClock, { email, isOperator: values.operator, emailVerified: true }),
  )
  const minted = createKey(store, systemClock, {
    userId: user.id,
    teamId: team.id,
    kind: 'orbit',
    name: 'cli',
    scope: null,
  })
  if (values.json)
    out(
      JSON.stringify({
        userId: user.id,
        email: user.email,
        operator: values.operator,
        apiKey: minted.plaintext,
      }),
    )
  else {
    out(`Created user ${user.email} (${user.id})${values.operator ? ' with operator rights' : ''}.`)
    out('API key (shown once, keep it safe):')
    out(minted.plaintext)
  }
  return 0
}

function createKeyCommand(store: Store, values: Values, out: Out): number {
  const user = findUserByEmail(store, requireEmail(values))
  if (!user) throw new Error('No user with that email.')
  if (values.kind !== 'orbit' && values.kind !== 'runtime') throw new Error('--kind must be orbit or runtime')
  const minted = createKey(store, systemClock, {
    userId: user.id,
    teamId: personalTeam(store, user.id).id,
    kind: values.kind,
    name: 'cli',
    scope: values.kind === 'runtime' ? 'sandboxes' : null,
  })
  if (values.json) out(JSON.stringify({ keyId: minted.row.id, kind: values.kind, key: minted.plaintext }))
  else out(minted.plaintext)
  return 0
}

async function tokenCommand(store: Store, config: Config, values: Values, out: Out): Promise<number> {
  if (!config.auth.jwtSecret) throw new Error('AUTH_JWT_SECRET is not set: session tokens cannot be minted.')
  const user = findUserByEmail(store, requireEmail(values))
  if (!user) throw new Error('No user with that email.')
  const ttl = parseDuration(values.ttl)
  if (!ttl) throw new Error('--ttl must look like 90s, 30m, 1h or 7d')
  const now = Math.floor(Date.now() / 1000)
  const token = await new SignJWT({
    email: user.email,
    email_verified: user.emailVerifiedAt !== null,
    role: 'authenticated',
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(user.id)
    .setAudience(config.auth.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.floor(ttl / 1000))
    .sign(new TextEncoder().encode(config.auth.jwtSecret))
  out(values.json ? JSON.stringify({ token, expiresIn: Math.floor(ttl / 1000) }) : token)
  return 0
}

/**
 * `VACUUM INTO`: a consistent, compacted copy of the live database, safe while the server runs
 * (it reads one snapshot; writers go on). Never overwrites: restoring is stopping the server and
 * putting the copy at DATABASE_PATH.
 */
function backupCommand(store: Store, values: Values, out: Out): number {
  if (!values.to) throw new Error('--to FILE is required')
  const target = resolve(values.to)
  if (existsSync(target)) throw new Error(`${target} exists; choose a new file name.`)
  mkdirSync(dirname(target), { recursive: true })
  store.sqlite.run('VACUUM INTO ?', [target])
  out(
    values.json
      ? JSON.stringify({ backup: target, bytes: statSync(target).size })
      : `Backed up to ${target}.`,
  )
  return 0
}

/**
 * Replaces the database with a backup. The backup is copied beside the database, migrated, and
 * every erasure in the ledger that it does not know is applied to it (locally: Stripe was stopped
 * by the original erasure) before it is moved into place — so an erased account never comes back,
 * even for an instant. The server must be stopped; an interrupted restore leaves the current
 * database untouched and can simply be run again.
 */
async function restoreCommand(config: Config, values: Values, out: Out): Promise<number> {
  try {
    if (!values.from) throw new Error('--from FILE is required')
    const source = resolve(values.from)
    if (!existsSync(source)) throw new Error(`${source} does not exist.`)
    if (isMemoryPath(config.databasePath))
      throw new Error('DATABASE_PATH is :memory:; nothing to restore into.')
    ensureDataDirectories(config)
    const target = resolve(config.databasePath)
    const staging = `${target}.restoring`
    for (const leftover of [staging, `${staging}-wal`, `${staging}-shm`]) rmSync(leftover, { force: true })
    copyFileSync(source, staging)
    const store = openStore(staging)
    let report: Awaited<ReturnType<typeof applyErasureLedger>>
    try {
      migrate(store)
      // The ledger and the pseudonym key live beside DATABASE_PATH, not beside the staging copy.
      const deps = buildDeps({ config, store })
      deps.erasureLedger = new ErasureLedger(target)
      usePseudonymKey(loadPseudonymKey(target, config.pseudonymKey))
      report = await applyErasureLedger(deps)
      store.sqlite.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    } finally {
      store.close()
    }
    for (const old of [`${target}-wal`, `${target}-shm`]) rmSync(old, { force: true })
    renameSync(staging, target)
    out(
      values.json
        ? JSON.stringify({ restored: target, from: source, ...report })
        : `Restored ${target} from ${source}; erased again: ${report.erased} account(s), receipts copied: ${report.receiptsCopied}.`,
    )
    return 0
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`)
    return 1
  }
}

/** The OpenAPI document of this build, from an in-memory instance (no database touched). */
async function openapiCommand(config: Config, out: Out): Promise<number> {
  const store = openStore(':memory:')
  migrate(store)
  const app = createApp(buildDeps({ config: { ...config, databasePath: ':memory:' }, store }))
  const response = await app.handle(new Request('http://localhost/docs/json'))
  out(JSON.stringify(await response.json(), null, 2))
  store.close()
  return 0
}

/** For Docker's HEALTHCHECK in a shell-less image: exit 0 if the local server answers. */
async function healthcheck(config: Config): Promise<number> {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  try {
    const response = await fetch(`http://${host}:${config.port}/healthz`, {
      signal: AbortSignal.timeout(3000),
    })
    return response.ok ? 0 : 1
  } catch {
    return 1
  }
}
