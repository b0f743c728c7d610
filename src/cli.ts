import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { eq } from 'drizzle-orm'
import { SignJWT } from 'jose'
import { many } from '../db/query'
import { DatabaseInUse, type InstanceLock, takeInstanceLock } from '../db/sqlite/instance-lock'
import { migrate } from '../db/sqlite/migrate'
import { markMoved, movedMessage, movedTo } from '../db/sqlite/moved'
import { openStore, type SqliteStore } from '../db/sqlite/store'
import { isMemoryPath, readTransaction, type Store, writeTransaction } from '../db/store'
import { accountDeletions } from '../db/tables'
import pkg from '../package.json'
import { buildDeps, createApp } from './app'
import { exportCertificatesCommand, verifyCertificateCommand } from './cli-certificates'
import { requestsCommand } from './cli-requests'
import { webhooksCommand } from './cli-webhooks'
import { type Config, ConfigError, configHelp, loadConfig } from './config'
import { systemClock } from './lib/clock'
import { parseDuration } from './lib/duration'
import { terminalProgress } from './lib/progress'
import { pseudonymKeyPath } from './lib/pseudonym'
import { SELF } from './lib/self'
import { ensureDataDirectories, openDatabase, serve } from './server'
import { createUserWithTeam, findUserByEmail, personalTeam } from './services/accounts'
import { applyErasureLedger } from './services/deletion'
import { ErasureLedger, erasureLedgerPath, ledgerEntryOf } from './services/erasure-ledger'
import { createKey } from './services/keys'
import { causeOf, StartupError } from './startup-error'
import { purgeOnce } from './workers/purge'

interface CommandHelp {
  name: string
  args?: string
  summary: string
  options?: [flag: string, meaning: string][]
  /** Flags the command takes (besides --help). */
  flags: string[]
}

const JSON_OPTION: [string, string] = ['--json', 'machine-readable output']
const COMMANDS: CommandHelp[] = [
  { name: 'serve', summary: 'migrate, then serve HTTP (the default command)', flags: [] },
  {
    name: 'migrate',
    args: '[--json]',
    summary: 'apply pending migrations, list them, and exit',
    options: [JSON_OPTION],
    flags: ['json'],
  },
  {
    name: 'user create',
    args: '--email E [--operator] [--json | --export]',
    summary: 'create a user (email verified) and its team, and print a fresh /api key once',
    options: [
      ['--email E', "the user's email"],
      ['--operator', 'give the user operator rights (/v1/admin)'],
      JSON_OPTION,
      ['--export', 'print `export CUSTODIAN_API_KEY=…`, for eval "$(…)"'],
    ],
    flags: ['email', 'operator', 'json', 'export'],
  },
  {
    name: 'key create',
    args: '--email E [--kind orbit|runtime] [--json | --export]',
    summary: 'mint a key for an existing user, printed once',
    options: [
      ['--email E', 'whose key'],
      ['--kind K', 'orbit (an /api ok_ key, the default) or runtime (a /v1 ns_live_ key)'],
      JSON_OPTION,
      ['--export', 'print `export CUSTODIAN_API_KEY=…`'],
    ],
    flags: ['email', 'kind', 'json', 'export'],
  },
  {
    name: 'token',
    args: '--email E [--ttl 1h] [--json]',
    summary: 'mint a session JWT signed with AUTH_JWT_SECRET (local use)',
    options: [
      ['--email E', 'whose token'],
      ['--ttl D', 'lifetime: 90s, 30m, 1h, 7d (default 1h)'],
      JSON_OPTION,
    ],
    flags: ['email', 'ttl', 'json'],
  },
  {
    name: 'purge',
    summary: 'run the deletion/purge worker once (and send due webhooks) and exit',
    flags: [],
  },
  {
    name: 'webhooks create',
    args: '--url URL [--events a,b | *] [--processor] [--format standard|set] [--json]',
    summary: 'register a webhook endpoint and print its signing secret once',
    options: [
      [
        '--url URL',
        'https, public address (WEBHOOKS_ALLOW_HTTP / WEBHOOKS_ALLOW_PRIVATE_NETWORKS lift that)',
      ],
      ['--events LIST', 'comma-separated event types, or * (the default)'],
      ['--processor', 'the endpoint erases accounts too: it receives erasure requests to acknowledge'],
      ['--format F', 'standard (JSON, the default) or set (account.erased as a Security Event Token)'],
      JSON_OPTION,
    ],
    flags: ['url', 'events', 'processor', 'format', 'json'],
  },
  {
    name: 'webhooks list',
    args: '[--json]',
    summary: 'list the webhook endpoints',
    options: [JSON_OPTION],
    flags: ['json'],
  },
  {
    name: 'webhooks deliveries',
    args: '--id ENDPOINT [--json]',
    summary: "an endpoint's 50 latest deliveries",
    options: [['--id ENDPOINT', 'the endpoint (we_…)'], JSON_OPTION],
    flags: ['id', 'json'],
  },
  {
    name: 'webhooks retry',
    args: '--id DELIVERY [--json]',
    summary: 'send a pending or failed delivery again at the next worker pass',
    options: [['--id DELIVERY', 'the delivery (whd_…)'], JSON_OPTION],
    flags: ['id', 'json'],
  },
  {
    name: 'requests create',
    args: '--type T (--email E | --user ID) [--note N] [--json]',
    summary: 'record a data-subject request as received (its legal deadline is computed)',
    options: [
      ['--type T', 'access, portability, erasure, rectification, restriction or objection'],
      ['--email E', "the person's email (an account's, or someone without one)"],
      ['--user ID', 'the account'],
      ['--note N', 'a note for the case'],
      JSON_OPTION,
    ],
    flags: ['type', 'email', 'user', 'note', 'json'],
  },
  {
    name: 'requests list',
    args: '[--overdue] [--json]',
    summary: 'data-subject requests by deadline, soonest first',
    options: [['--overdue', 'only those past their deadline'], JSON_OPTION],
    flags: ['overdue', 'json'],
  },
  {
    name: 'verify-certificate',
    args: 'FILE [--chain DIR] [--key JWKS-FILE] [--json]',
    summary: 'check an erasure certificate offline: signature, consistency, chain (exit 0 valid, 1 invalid)',
    options: [
      ['--chain DIR', 'certificates of the chain (from `certificates export`): check the links up to FILE'],
      ['--key FILE', 'the published keys (GET /.well-known/custodian/erasure-keys) to pin the signer'],
      JSON_OPTION,
    ],
    flags: ['chain', 'key', 'json'],
  },
  {
    name: 'certificates export',
    args: '--to DIR [--json]',
    summary: 'write every erasure certificate into DIR (for verify-certificate --chain)',
    options: [['--to DIR', 'created if missing'], JSON_OPTION],
    flags: ['to', 'json'],
  },
  {
    name: 'backup',
    args: '--to FILE [--json]',
    summary: 'copy the database into FILE (consistent while serving; never overwrites)',
    options: [['--to FILE', 'a new file, created readable by its owner only'], JSON_OPTION],
    flags: ['to', 'json'],
  },
  {
    name: 'restore',
    args: '--from FILE [--ledger-missing-ok] [--json]',
    summary: 'replace the database with a backup (server stopped), erasing again every account erased since',
    options: [
      ['--from FILE', 'a file made by `backup`'],
      [
        '--ledger-missing-ok',
        'restore although erasure-ledger.jsonl is missing or unreadable (the current database’s receipts still count)',
      ],
      JSON_OPTION,
    ],
    flags: ['from', 'json', 'ledger-missing-ok'],
  },
  {
    name: 'migrate-store',
    args: '--to postgres://… [--from FILE] [--json]',
    summary: 'copy this SQLite deployment (rows and files) into an empty PostgreSQL database, and verify it',
    options: [
      [
        '--to URL',
        'the PostgreSQL database (postgres://user:password@host/db; ?host=/dir for a unix socket)',
      ],
      ['--from FILE', 'the SQLite database (default: DATABASE_PATH); files come from STORAGE_DIR'],
      JSON_OPTION,
    ],
    flags: ['to', 'from', 'json'],
  },
  {
    name: 'compact',
    args: '[--json]',
    summary:
      'rewrite the tables erasures touch so no freed bytes of erased accounts remain in the database files (PostgreSQL: VACUUM FULL, each table locked while rewritten)',
    options: [JSON_OPTION],
    flags: ['json'],
  },
  { name: 'openapi', summary: 'print the OpenAPI document (what /docs/json serves)', flags: [] },
  {
    name: 'healthcheck',
    summary: 'exit 0 if the local server answers /healthz (Docker HEALTHCHECK)',
    flags: [],
  },
  {
    name: 'help',
    args: '[COMMAND | config]',
    summary: "a command's usage, or every configuration variable",
    flags: [],
  },
]

const usageLine = (c: CommandHelp) => `${SELF} ${c.name}${c.args ? ` ${c.args}` : ''}`

function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2
  return `custodian ${pkg.version} — account control plane (export and erasure done right)

Usage: ${SELF} [COMMAND] [OPTIONS]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

Options: --help (with a command: its usage), --version

Run "${SELF} help COMMAND" for a command's options, "${SELF} help config" for the environment
variables. API documentation: /docs on a running server.
`
}

function commandHelp(command: CommandHelp): string {
  const options = command.options?.length
    ? `\nOptions:\n${command.options.map(([flag, meaning]) => `  ${flag.padEnd(16)}${meaning}`).join('\n')}\n`
    : ''
  return `${command.summary}\n\nUsage: ${usageLine(command)}\n${options}`
}

/** `user`, `key`: the commands of a group, when the subcommand is missing. */
const groupOf = (word: string) => COMMANDS.filter((c) => c.name.startsWith(`${word} `))

type Out = (line: string) => void

const fail = (message: string) => {
  process.stderr.write(`${message}\n`)
  return 2
}

/** Dispatches a command line; resolves to the process exit code. */
export async function main(
  argv: string[],
  out: Out = (l) => process.stdout.write(`${l}\n`),
): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    // Node's parser message, reduced to the flag it did not know.
    const flag = /'(-[^']*)'/.exec((error as Error).message)?.[1]
    return fail(
      flag
        ? `Unknown option ${flag}. Run "${SELF} help" for the commands and their options.`
        : (error as Error).message,
    )
  }
  const { positionals, values } = parsed
  if (values.version) {
    out(pkg.version)
    return 0
  }
  if (values.help && positionals.length === 0) {
    out(globalHelp())
    return 0
  }
  const words = positionals.length ? positionals : ['serve']
  if (words[0] === 'help') {
    const topic = words.slice(1).join(' ')
    if (!topic) out(globalHelp())
    else if (topic === 'config') out(configHelp())
    else {
      const command = COMMANDS.find((c) => c.name === topic)
      if (command) out(commandHelp(command))
      else if (groupOf(topic).length) out(groupOf(topic).map(commandHelp).join('\n'))
      else return fail(`No command "${topic}". Run "${SELF} help" for the list.`)
    }
    return 0
  }
  // The one command with a positional argument (the file it checks).
  const name = words[0] === 'verify-certificate' ? words[0] : words.join(' ')
  const command = COMMANDS.find((c) => c.name === name)
  if (!command) {
    const group = groupOf(name)
    if (group.length) {
      process.stderr.write(
        `"${name}" needs a subcommand:\n${group.map((c) => `  ${usageLine(c)}`).join('\n')}\n`,
      )
      return 2
    }
    return fail(`Unknown command "${name}". Run "${SELF} help" for the list.`)
  }
  if (values.help) {
    out(commandHelp(command))
    return 0
  }
  const given = Object.entries(values).filter(([_flag, value]) => value !== undefined && value !== false)
  const stray = given.find(([flag]) => !command.flags.includes(flag) && flag !== 'help')
  if (stray) return fail(`${command.name} takes no --${stray[0]}. Run "${SELF} help ${command.name}".`)
  // Offline: no configuration, no database.
  if (name === 'verify-certificate') {
    if (words.length > 2) return fail('verify-certificate checks one file at a time.')
    return verifyCertificateCommand(words[1], values, out)
  }
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
  try {
    return await run(command.name, config, values, out)
  } catch (error) {
    if (error instanceof StartupError) {
      process.stderr.write(`${error.message}\n`)
      return 78
    }
    throw error
  }
}

async function run(command: string, config: Config, values: Values, out: Out): Promise<number> {
  switch (command) {
    case 'serve':
      await serve(config)
      return -1 // keep running
    case 'migrate':
      return withStore(config, (store) => {
        const applied = store.appliedMigrations
        if (values.json) out(JSON.stringify({ applied }))
        else if (applied.length === 0) out('Database is up to date: no migration to apply.')
        else out(`Applied ${applied.length} migration(s):\n${applied.map((tag) => `  ${tag}`).join('\n')}`)
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
    case 'restore':
      // The SQLite file's own tools; PostgreSQL has its own (docs/postgresql.md).
      if (config.databaseUrl) {
        process.stderr.write(
          `custodian ${command} copies the SQLite file; with DATABASE_URL use PostgreSQL's tools (pg_dump, pg_restore or a base backup with WAL archiving).\n`,
        )
        return 1
      }
      return command === 'backup'
        ? withStore(config, (store) => backupCommand(store, values, out))
        : restoreCommand(config, values, out)
    case 'openapi':
      return openapiCommand(config, out)
    case 'compact':
      return withStore(config, (store) => compactCommand(store, values, out))
    case 'migrate-store':
      return migrateStoreCommand(config, values, out)
    case 'requests create':
    case 'requests list':
      return withStore(config, (store) => requestsCommand(command, buildDeps({ config, store }), values, out))
    case 'certificates export':
      return withStore(config, (store) => exportCertificatesCommand(store, values, out))
    case 'webhooks create':
    case 'webhooks list':
    case 'webhooks deliveries':
    case 'webhooks retry':
      return withStore(config, (store) => webhooksCommand(command, buildDeps({ config, store }), values, out))
    default:
      return withStore(config, async (store) => {
        const report = await purgeOnce(buildDeps({ config, store }), { deliverWebhooks: true })
        out(JSON.stringify(report))
        return 0
      })
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      operator: { type: 'boolean' },
      kind: { type: 'string' },
      ttl: { type: 'string' },
      json: { type: 'boolean' },
      export: { type: 'boolean' },
      to: { type: 'string' },
      from: { type: 'string' },
      'ledger-missing-ok': { type: 'boolean' },
      url: { type: 'string' },
      events: { type: 'string' },
      processor: { type: 'boolean' },
      format: { type: 'string' },
      id: { type: 'string' },
      chain: { type: 'string' },
      type: { type: 'string' },
      user: { type: 'string' },
      note: { type: 'string' },
      overdue: { type: 'boolean' },
      key: { type: 'string' },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}
type Values = ReturnType<typeof parse>['values']

async function withStore(config: Config, fn: (store: Store) => number | Promise<number>): Promise<number> {
  ensureDataDirectories(config)
  const store = await openDatabase(config)
  try {
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

/** A minted key as the operator asked for it: JSON, an `export` line, or with the warning. */
function printKey(out: Out, values: Values, key: string, json: Record<string, unknown>, lead: string) {
  if (values.json) out(JSON.stringify(json))
  else if (values.export) out(`export CUSTODIAN_API_KEY=${key}`)
  else {
    out(lead)
    out('API key (shown once, keep it safe):')
    out(key)
  }
}

async function createUserCommand(store: Store, values: Values, out: Out): Promise<number> {
  const email = requireEmail(values)
  const { user, team } = await writeTransaction(store, (tx) =>
    createUserWithTeam(tx, systemClock, { email, isOperator: values.operator === true, emailVerified: true }),
  )
  const minted = await createKey(store, systemClock, {
    userId: user.id,
    teamId: team.id,
    kind: 'orbit',
    name: 'cli',
    scope: null,
  })
  printKey(
    out,
    values,
    minted.plaintext,
    { userId: user.id, email: user.email, operator: values.operator === true, apiKey: minted.plaintext },
    `Created user ${user.email} (${user.id})${values.operator ? ' with operator rights' : ''}.`,
  )
  return 0
}

async function createKeyCommand(store: Store, values: Values, out: Out): Promise<number> {
  const email = requireEmail(values)
  const found = await readTransaction(store, async (tx) => {
    const user = await findUserByEmail(tx, email)
    return user && { user, team: await personalTeam(tx, user.id) }
  })
  if (!found) throw new Error('No user with that email.')
  const { user, team } = found
  const kind = values.kind ?? 'orbit'
  if (kind !== 'orbit' && kind !== 'runtime') throw new Error('--kind must be orbit or runtime')
  const minted = await createKey(store, systemClock, {
    userId: user.id,
    teamId: team.id,
    kind,
    name: 'cli',
    scope: kind === 'runtime' ? 'sandboxes' : null,
  })
  printKey(
    out,
    values,
    minted.plaintext,
    { keyId: minted.row.id, kind, key: minted.plaintext },
    `Created ${kind === 'orbit' ? 'an /api (ok_)' : 'a /v1 runtime (ns_live_)'} key for ${user.email}.`,
  )
  return 0
}

async function tokenCommand(store: Store, config: Config, values: Values, out: Out): Promise<number> {
  if (!config.auth.jwtSecret) throw new Error('AUTH_JWT_SECRET is not set: session tokens cannot be minted.')
  const email = requireEmail(values)
  const user = await readTransaction(store, (tx) => findUserByEmail(tx, email))
  if (!user) throw new Error('No user with that email.')
  const ttl = parseDuration(values.ttl ?? '1h')
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
  const directory = dirname(target)
  const created = !existsSync(directory)
  if (created) mkdirSync(directory, { recursive: true, mode: 0o700 })
  // A backup holds every account: readable by its owner only, from the moment it exists.
  const previous = process.umask(0o077)
  try {
    store.backupTo(target)
  } finally {
    process.umask(previous)
  }
  chmodSync(target, 0o600)
  out(
    values.json
      ? JSON.stringify({ backup: target, bytes: statSync(target).size, createdDirectory: created })
      : `${created ? `Created ${directory} (mode 0700). ` : ''}Backed up to ${target} (mode 0600).`,
  )
  return 0
}

/**
 * Replaces the database with a backup. The backup is copied beside the database, migrated, and
 * every erasure known — the ledger's entries and the receipts of the database being replaced —
 * is applied to it (locally: Stripe was stopped by the original erasure) before it is moved into
 * place, so an erased account never comes back, even for an instant. A running server holds the
 * deployment's lock and the restore refuses; an interrupted or failed restore leaves the current
 * database untouched, removes its staging copy and can simply be run again.
 */
async function restoreCommand(config: Config, values: Values, out: Out): Promise<number> {
  let lock: InstanceLock | null = null
  let staging: string | null = null
  const progress = terminalProgress(values.json === true)
  try {
    if (!values.from) throw new Error('--from FILE is required')
    const source = resolve(values.from)
    if (!existsSync(source)) throw new Error(`${source} does not exist.`)
    if (isMemoryPath(config.databasePath))
      throw new Error('DATABASE_PATH is :memory:; nothing to restore into.')
    ensureDataDirectories(config)
    const target = resolve(config.databasePath)
    try {
      lock = takeInstanceLock(target, 'restore')
    } catch (error) {
      if (error instanceof DatabaseInUse) throw new Error(`Cannot restore: ${error.message}; stop it first.`)
      throw error
    }
    const ledger = new ErasureLedger(target)
    const problem = ledger.problem()
    if (problem && !values['ledger-missing-ok'])
      throw new Error(
        `Cannot restore: ${problem}. It lists the accounts erased since the backup; without it they could come back. Put it back beside the database, or run again with --ledger-missing-ok to rely on the receipts of the current database alone.`,
      )
    if (problem) ledger.startOver()
    progress.update('reading the erasures of the database being replaced')
    const fromCurrent = existsSync(target) ? await recordCurrentReceipts(target, ledger) : 0
    staging = `${target}.restoring`
    removeStaging(staging)
    progress.update(`copying ${source} beside the database`)
    copyFileSync(source, staging)
    chmodSync(staging, 0o600)
    const store = openStore(staging)
    let report: Awaited<ReturnType<typeof applyErasureLedger>>
    try {
      progress.update('migrating the copy')
      migrate(store)
      progress.update('erasing again the accounts erased since the backup')
      // The staging copy sits beside DATABASE_PATH: buildDeps finds the same erasure ledger and
      // pseudonym key there.
      report = await applyErasureLedger(buildDeps({ config, store }))
    } finally {
      store.close({ checkpoint: true })
    }
    progress.update('moving the copy into place')
    for (const old of [`${target}-wal`, `${target}-shm`]) rmSync(old, { force: true })
    renameSync(staging, target)
    staging = null
    progress.done()
    out(
      values.json
        ? JSON.stringify({ restored: target, from: source, ...report, receiptsFromCurrent: fromCurrent })
        : `Restored ${target} from ${source}; erased again: ${report.erased} account(s), receipts copied: ${report.receiptsCopied}.`,
    )
    return 0
  } catch (error) {
    progress.done()
    process.stderr.write(`${(error as Error).message}\n`)
    return 1
  } finally {
    // A failed restore leaves no copy of every account beside the database.
    if (staging) removeStaging(staging)
    lock?.release()
  }
}

function removeStaging(staging: string) {
  for (const file of [staging, `${staging}-wal`, `${staging}-shm`, `${staging}.epochs`])
    rmSync(file, { force: true })
}

/**
 * The receipts of the database a restore replaces, written to the ledger where it lacks them: the
 * ledger may be torn, empty or new, but the receipts are in the file about to be overwritten.
 */
async function recordCurrentReceipts(target: string, ledger: ErasureLedger): Promise<number> {
  const current = openStore(target)
  try {
    const moved = movedTo(current)
    if (moved) throw new Error(`Cannot restore: ${movedMessage(target, moved)}`)
    migrate(current)
    const known = new Set(ledger.entries().map((e) => e.id))
    const receipts = await readTransaction(current, (tx) =>
      many(tx.select().from(accountDeletions).where(eq(accountDeletions.step, 'done'))),
    )
    let appended = 0
    for (const receipt of receipts)
      if (!known.has(receipt.id)) {
        ledger.append(ledgerEntryOf(receipt))
        appended++
      }
    return appended
  } finally {
    current.close()
  }
}

/**
 * Copies the SQLite deployment into an empty PostgreSQL database in one transaction that commits
 * only once every table and file is verified (db/pg/move.ts): interrupted, it leaves the target
 * empty and can be run again. Refused while a server runs on the source (its later writes would
 * stay behind); other commands beside it are fine, since its rows are read from one snapshot.
 */
async function migrateStoreCommand(config: Config, values: Values, out: Out): Promise<number> {
  const progress = terminalProgress(values.json === true)
  let releaseLock = () => {}
  try {
    if (!values.to || !/^postgres(ql)?:\/\//.test(values.to))
      throw new Error('--to postgres://… is required (the PostgreSQL database to fill).')
    const from = resolve(values.from ?? config.databasePath)
    if (isMemoryPath(from) || !existsSync(from)) throw new Error(`${from} does not exist.`)
    const { SQL } = await import('bun')
    const { checkReachable, filesUnder, moveToPostgres } = await import('../db/pg/move')
    // Not under a running server: what it acknowledged after the copy's snapshot would stay in
    // the SQLite file, which is marked moved once the copy is verified.
    let lock: InstanceLock
    try {
      lock = takeInstanceLock(from, 'migrate-store')
    } catch (error) {
      if (error instanceof DatabaseInUse)
        throw new Error(
          `Cannot move: ${error.message}; stop it first, so that no write it acknowledges is left behind.`,
        )
      throw error
    }
    releaseLock = () => lock.release()
    let source: SqliteStore | null = null
    try {
      source = openStore(from)
      migrate(source)
    } catch (error) {
      source?.close()
      throw new Error(`Cannot open ${from} as a Custodian database: ${causeOf(error)}`)
    }
    const target = new SQL(values.to, { max: 1, connectionTimeout: 10 })
    try {
      await checkReachable(target, values.to)
      const files = [
        ...filesUnder(config.storageDir),
        ...[pseudonymKeyPath(from), erasureLedgerPath(from)]
          .filter((file) => existsSync(file))
          .map((file) => ({ path: `system/${basename(file)}`, file })),
      ]
      const report = await moveToPostgres({
        source,
        target,
        files,
        onProgress: (p) =>
          progress.update(
            `${p.phase === 'verify' ? 'verifying' : 'copying'} ${p.item}: ${p.done}/${p.total}`,
          ),
      })
      progress.done()
      // From now on every command on the SQLite file refuses, naming the PostgreSQL database.
      markMoved(source, (await import('../db/pg/store')).describePostgresUrl(values.to))
      const rows = report.tables.reduce((sum, t) => sum + t.rows, 0)
      out(
        values.json
          ? JSON.stringify({ from, ...report })
          : [
              `Moved ${from} into PostgreSQL: ${rows} rows in ${report.tables.length} tables, ${report.files.count} files (${report.files.bytes} bytes); every table's count and digest verified.`,
              ...report.tables.map(
                (t) => `  ${t.table.padEnd(22)} ${String(t.rows).padStart(9)}  sha256 ${t.sha256}`,
              ),
            ].join('\n'),
      )
      return 0
    } finally {
      await target.close()
      source.close()
    }
  } catch (error) {
    progress.done()
    process.stderr.write(`${(error as Error).message}\n`)
    return 1
  } finally {
    releaseLock()
  }
}

/** `custodian compact`: see Store.compact (db/store.ts). Safe to interrupt and run again (each table is one statement). */
async function compactCommand(store: Store, values: Values, out: Out): Promise<number> {
  const progress = terminalProgress(values.json === true)
  const started = Date.now()
  const { tables } = await store.compact((table, done, total) =>
    progress.update(`rewriting ${table}: ${done + 1}/${total}`),
  )
  progress.done()
  const seconds = (Date.now() - started) / 1000
  out(
    values.json
      ? JSON.stringify({ compacted: tables, seconds })
      : `Compacted ${tables.length} table(s) in ${seconds.toFixed(1)} s: no freed bytes of erased accounts remain in the database files.`,
  )
  return 0
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
  const url = `http://${host}:${config.port}/healthz`
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) })
    if (response.ok) return 0
    process.stderr.write(`${url} answered ${response.status}.\n`)
    return 1
  } catch (error) {
    const cause = /refused|ECONNREFUSED/i.test(`${(error as { code?: string }).code} ${error}`)
      ? 'nothing is listening there (is the server running, on this HOST and PORT?)'
      : causeOf(error)
    process.stderr.write(`No answer from ${url}: ${cause}.\n`)
    return 1
  }
}
