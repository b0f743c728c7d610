import {
  and,
  asc,
  count,
  desc,
  eq,
  inArray,
  isNotNull,
  isNull,
  lte,
  ne,
  notInArray,
  or,
  sql,
} from 'drizzle-orm'
import { olderThan } from '../../db/keyset'
import { ERASURE_TOUCHED_TABLES, OWNED_TABLES, ownerWhere } from '../../db/ownership'
import { exec, many, one } from '../../db/query'
import { lockAccount } from '../../db/row-locks'
import type { DeletionRow } from '../../db/rows'
import type { DeletionMode, DeletionStep, ErasureVerification } from '../../db/schema'
import { rawDbOf, readTransaction, type Store, type Tx, writeTransaction } from '../../db/store'
import { accountDeletions, apps, exportArchives, sites, users } from '../../db/tables'
import { BillingError, type BillingPort, isTerminal } from '../billing/port'
import { AppError } from '../errors'
import { type Clock, HOUR, SECOND } from '../lib/clock'
import { sha256Hex } from '../lib/crypto'
import { uuidv7 } from '../lib/ids'
import { errorFields, type Logger } from '../lib/logger'
import { hashUserId } from '../lib/pseudonym'
import type { FileStorage } from '../lib/storage'
import { subscriptionOfUser } from './account-overview'
import { getUser } from './accounts'
import { recordAudit } from './audit'
import { atStripeFailClosed } from './billing'
import {
  ensureErasureRequest,
  fulfilErasureRequests,
  linkErasure,
  pseudonymiseRequests,
} from './data-requests'
import { issueCertificate } from './erasure-certificates'
import { ERASURES_CHANNEL, type ErasureLedger, ledgerEntryOf, reconcileLedger } from './erasure-ledger'
import { announceErasureRequested, processorsOf } from './erasure-processors'
import { type AccountIdentifiers, gatherIdentifiers, verifyErasure } from './erasure-verification'
import { emitEvent } from './events'
import { archiveDirectory } from './export-archives'
import { reconcileHolds } from './hold-ledger'
import { activeHold, legalHoldError } from './legal-holds'

export type { DeletionRow }

export interface DeletionDeps {
  store: Store
  clock: Clock
  /** null: billing disabled, nothing to stop at Stripe. */
  billing: BillingPort | null
  storage: FileStorage
  logger: Logger
  config: { deletionLeaseMs: number }
  /**
   * Called right after each step is recorded. Only crash tests inject it (to stop a process
   * between steps); the product never configures it — no environment variable reaches it.
   */
  deletionFaults?: DeletionFaults
  /** Counts deletions reaching each step. */
  metrics?: { deletionStep(step: string): void }
  /** Where completed erasures are recorded for restores; absent for in-memory databases. */
  erasureLedger?: ErasureLedger
  /** The account's rate-limit counters are dropped with it (Redis keeps them for two windows). */
  rateLimitStore?: { forget?(partition: string): void | Promise<void> }
}

export interface DeletionFaults {
  afterStep(step: DeletionStep): Promise<void>
}

export interface DeletionPreview {
  /** Rows that would be erased, per table. */
  counts: Record<string, number>
  /** What would be stopped at Stripe; null when billing is disabled. */
  stripe: { customerId: string | null; subscriptions: string[] } | null
}

const MAX_BACKOFF_MS = HOUR

/** The hash a retried `DELETE /api/account` is recognised by once the account is gone. */
export const deletionReplayHash = (credential: string, idempotencyKey: string) =>
  sha256Hex(`${sha256Hex(credential)}\n${idempotencyKey}`)

export function hasDeletionReplay(
  store: Store,
  credential: string,
  idempotencyKey: string,
): Promise<boolean> {
  return readTransaction(store, async (tx) => {
    const row = await one(
      tx
        .select({ id: accountDeletions.id })
        .from(accountDeletions)
        .where(
          and(
            eq(accountDeletions.replayHash, deletionReplayHash(credential, idempotencyKey)),
            eq(accountDeletions.step, 'done'),
          ),
        ),
    )
    return row !== undefined
  })
}

/** Rows the registry reaches from the user, per table, in one read view. */
export function countOwnedRows(store: Store, userId: string): Promise<Record<string, number>> {
  return readTransaction(store, async (tx) => {
    const counts: Record<string, number> = {}
    for (const table of OWNED_TABLES)
      counts[table.name] = (
        (await rawDbOf(tx)
          .prepare(`SELECT count(*) AS n FROM ${table.name} WHERE ${ownerWhere(table)}`)
          .get(userId)) as { n: number }
      ).n
    return counts
  })
}

/** What erasing the account would do, changing nothing (`?dryRun=true`). */
export async function previewDeletion(deps: DeletionDeps, userId: string): Promise<DeletionPreview> {
  const user = await readTransaction(deps.store, (tx) => getUser(tx, userId))
  if (!user) throw new AppError('ACCOUNT_NOT_FOUND', 'No such account.')
  const counts = await countOwnedRows(deps.store, userId)
  if (!deps.billing) return { counts, stripe: null }
  const { live } = await atStripeFailClosed(() => subscriptionsToStop(deps, userId, user.stripeCustomerId))
  return { counts, stripe: { customerId: user.stripeCustomerId, subscriptions: live } }
}

/**
 * Step 1, `requested`: writes the deletion job (or picks up this user's unfinished one) and, in
 * the same transaction, marks the user so every credential is refused from now on. A held account
 * is not marked: the request is recorded as `blocked_legal_hold` and LEGAL_HOLD (409) is thrown;
 * releasing the hold resumes it (services/legal-holds.ts).
 */
export async function requestDeletion(
  deps: DeletionDeps,
  userId: string,
  mode: DeletionMode,
  replayHash: string | null = null,
): Promise<DeletionRow> {
  const { store, clock } = deps
  const { row, blocked } = await writeTransaction(store, async (tx) => {
    // Writes holding the account's row finish first; the ones after see the mark (db/row-locks.ts).
    await lockAccount(tx, userId, 'update')
    const now = clock.now()
    const user = await one(tx.select({ id: users.id }).from(users).where(eq(users.id, userId)))
    if (!user) throw new AppError('ACCOUNT_NOT_FOUND', 'No such account.')
    const open = await one(
      tx
        .select()
        .from(accountDeletions)
        .where(and(eq(accountDeletions.userId, userId), ne(accountDeletions.step, 'done'))),
    )
    // DELETE /api/account is the account holder's erasure request: the case log records it.
    if (mode === 'immediate') await ensureErasureRequest(tx, clock, userId)
    if (await activeHold(tx, userId, now)) {
      const blockedRow = await recordBlocked(tx, deps, userId, mode, replayHash, open)
      await linkErasure(tx, userId, blockedRow.id)
      return { row: blockedRow, blocked: true }
    }
    await exec(tx.update(users).set({ erasureRequestedAt: now }).where(eq(users.id, userId)))
    if (open) {
      const wasBlocked = open.step === 'blocked_legal_hold'
      // A hold released (or lapsed) before the worker resumed its blocked request: it runs now.
      if (wasBlocked) await announceErasureRequested(tx, clock, userId, open.id, open.mode)
      const row = (await one(
        tx
          .update(accountDeletions)
          .set({
            ...(wasBlocked ? { step: 'requested' as const, nextAttemptAt: null } : {}),
            lockedUntil: now + deps.config.deletionLeaseMs,
            updatedAt: now,
            ...(replayHash ? { replayHash } : {}),
          })
          .where(eq(accountDeletions.id, open.id))
          .returning(),
      )) as DeletionRow
      await linkErasure(tx, userId, row.id)
      return { row, blocked: false }
    }
    await recordAudit(tx, clock, userId, 'account.deletion_requested', { mode })
    deps.metrics?.deletionStep('requested')
    const job = newJob(clock, userId, mode, replayHash)
    await announceErasureRequested(tx, clock, userId, job.id, mode)
    const row = (await one(
      tx
        .insert(accountDeletions)
        .values({ ...job, lockedUntil: now + deps.config.deletionLeaseMs })
        .returning(),
    )) as DeletionRow
    await linkErasure(tx, userId, row.id)
    return { row, blocked: false }
  })
  if (blocked) throw legalHoldError()
  return row
}

/** Records the request of a held account as `blocked_legal_hold` (once; a repeat changes nothing). */
async function recordBlocked(
  tx: Tx,
  deps: DeletionDeps,
  userId: string,
  mode: DeletionMode,
  replayHash: string | null,
  open: DeletionRow | undefined,
): Promise<DeletionRow> {
  if (open?.step === 'blocked_legal_hold') return open
  const now = deps.clock.now()
  await recordAudit(tx, deps.clock, userId, 'account.deletion_blocked_legal_hold', { mode })
  deps.metrics?.deletionStep('blocked_legal_hold')
  return (await one(
    open
      ? tx
          .update(accountDeletions)
          .set({ step: 'blocked_legal_hold', lockedUntil: null, updatedAt: now })
          .where(eq(accountDeletions.id, open.id))
          .returning()
      : tx
          .insert(accountDeletions)
          .values({
            ...newJob(deps.clock, userId, mode, replayHash),
            step: 'blocked_legal_hold',
            lockedUntil: null,
          })
          .returning(),
  )) as DeletionRow
}

function newJob(clock: Clock, userId: string, mode: DeletionMode, replayHash: string | null) {
  const now = clock.now()
  return {
    id: uuidv7(clock),
    userId,
    userHash: hashUserId(userId),
    mode,
    step: 'requested' as DeletionStep,
    requestedAt: now,
    updatedAt: now,
    replayHash,
    counts: {},
    stripeActions: [],
  }
}

/**
 * For requests that only schedule an erasure (the /v1 delete): a held account's request is
 * recorded as blocked and refused now (LEGAL_HOLD), as the erasure itself would be.
 */
export async function refuseIfHeldNow(deps: DeletionDeps, userId: string, mode: DeletionMode) {
  const now = deps.clock.now()
  if (!(await readTransaction(deps.store, (tx) => activeHold(tx, userId, now)))) return
  // Never requestDeletion here: a hold released in between would let it erase at once.
  const blocked = await writeTransaction(deps.store, async (tx) => {
    await lockAccount(tx, userId, 'update')
    if (!(await activeHold(tx, userId, now))) return false
    const open = await one(
      tx
        .select()
        .from(accountDeletions)
        .where(and(eq(accountDeletions.userId, userId), ne(accountDeletions.step, 'done'))),
    )
    await ensureErasureRequest(tx, deps.clock, userId)
    await linkErasure(tx, userId, (await recordBlocked(tx, deps, userId, mode, null, open)).id)
    return true
  })
  if (blocked) throw legalHoldError()
}

/** Takes the job's lease; false when another runner holds it. */
async function claimLease(deps: DeletionDeps, id: string): Promise<boolean> {
  const now = deps.clock.now()
  const result = await writeTransaction(deps.store, (tx) =>
    exec(
      tx
        .update(accountDeletions)
        .set({ lockedUntil: now + deps.config.deletionLeaseMs })
        .where(
          and(
            eq(accountDeletions.id, id),
            ne(accountDeletions.step, 'done'),
            or(isNull(accountDeletions.lockedUntil), lte(accountDeletions.lockedUntil, now)),
          ),
        ),
    ),
  )
  return result.changes === 1
}

/**
 * Runs a deletion from the step it last recorded to `done`. Each step is a recovery point, so a
 * retry, the worker, or a restart resumes instead of repeating. Fail closed: when Stripe cannot
 * be reached or refuses, nothing is erased, the error and a backoff are recorded, the account is
 * usable again, and PAYMENT_PROVIDER_UNAVAILABLE (502 PAYMENT_ERROR on /api) is thrown.
 */
export async function runDeletion(deps: DeletionDeps, deletionId: string): Promise<DeletionRow> {
  let job = await loadJob(deps, deletionId)
  try {
    if ((job.step === 'requested' || job.step === 'billing_stopped') && job.userId)
      job = await refuseIfHeld(deps, job, job.userId)
    if (job.step === 'requested') {
      const actions = await stopBilling(deps, job)
      job = await advance(deps, job, 'billing_stopped', { stripeActions: actions })
      await maybePause(deps, 'billing_stopped')
    }
    if ((job.step === 'billing_stopped' || job.step === 'incomplete') && job.userId) {
      const userId = job.userId
      // Gathered before anything is erased, for the verification pass; kept in memory only.
      if (!gathered.has(job.id)) gathered.set(job.id, await gatherIdentifiers(deps.store, userId))
      job = await deps.store.onOwnConnection((store) => eraseData({ ...deps, store }, job))
      await maybePause(deps, 'data_erased')
    }
    if (job.step === 'data_erased') job = await verifyAndFinish(deps, job)
    return job
  } catch (error) {
    if (error instanceof AppError && error.code === 'LEGAL_HOLD') throw error
    await recordFailure(deps, job, error)
    if (error instanceof BillingError)
      throw new AppError(
        'PAYMENT_PROVIDER_UNAVAILABLE',
        'The billing provider could not stop the subscription, so nothing was deleted. The account is unchanged; retry the request later.',
        { cause: error },
      )
    throw error
  }
}

/**
 * Identifiers of accounts being erased by this process, by deletion id, until the verification
 * passes (a retry of an incomplete erasure checks for the same ones). Lost with the process: a
 * run resumed after a restart verifies by what is left to find (the user id).
 */
const gathered = new Map<string, AccountIdentifiers>()

/**
 * The legal-hold check of every path that runs an erasure (the worker's resumption, the restore
 * replay, the request itself). A held account's job is recorded as `blocked_legal_hold`, its
 * credentials work again, and LEGAL_HOLD is thrown.
 */
async function refuseIfHeld(deps: DeletionDeps, job: DeletionRow, userId: string): Promise<DeletionRow> {
  const now = deps.clock.now()
  const held = await readTransaction(deps.store, (tx) => activeHold(tx, userId, now))
  if (!held) return job
  await writeTransaction(deps.store, async (tx) => {
    await exec(
      tx
        .update(accountDeletions)
        .set({ step: 'blocked_legal_hold', lockedUntil: null, updatedAt: now })
        .where(eq(accountDeletions.id, job.id)),
    )
    await exec(tx.update(users).set({ erasureRequestedAt: null }).where(eq(users.id, userId)))
    await recordAudit(tx, deps.clock, userId, 'account.deletion_blocked_legal_hold', { mode: job.mode })
  })
  deps.metrics?.deletionStep('blocked_legal_hold')
  throw legalHoldError()
}

/**
 * The verification pass, then `done` with the certificate — or `incomplete` when something of the
 * account was found (recorded with a backoff; the worker erases again and verifies again).
 */
async function verifyAndFinish(deps: DeletionDeps, job: DeletionRow): Promise<DeletionRow> {
  const userId = job.userId as string
  const ids = gathered.get(job.id) ?? (await gatherIdentifiers(deps.store, userId))
  let verification: ErasureVerification | null = null
  for (let pass = 1; ; pass++) {
    // The WAL truncated first where the scan reads database files (SQLite), so it reads what the
    // server keeps, not what it is about to drop. Elsewhere (PostgreSQL: a VACUUM) finish() does it once.
    if (deps.store.databaseFiles.length > 0) deps.store.afterErasure(ERASURE_TOUCHED_TABLES, () => {})
    verification = await verifyErasure(deps, ids)
    if (verification.clean || pass === SWEEPS_BEFORE_INCOMPLETE) break
    // A request in flight as the data went may have written a file it is about to remove itself
    // (sites.ts): sweep again at once and look again before calling the erasure incomplete.
    await new Promise((resolve) => setTimeout(resolve, 10 * pass))
    job = await deps.store.onOwnConnection((store) => eraseData({ ...deps, store }, job))
  }
  if (!verification.clean) return recordIncomplete(deps, job, verification)
  gathered.delete(job.id)
  return finish(deps, job, verification)
}

/** Verification passes (with a sweep between) before an erasure is recorded as incomplete. */
const SWEEPS_BEFORE_INCOMPLETE = 3

async function recordIncomplete(deps: DeletionDeps, job: DeletionRow, verification: ErasureVerification) {
  const now = deps.clock.now()
  const attempts = job.attempts + 1
  const found = Object.entries(verification.tables)
    .filter(([, n]) => n > 0)
    .map(([table, n]) => `${n} row(s) in ${table}`)
  if (verification.byteMatches > 0) found.push(`${verification.byteMatches} match(es) in the database files`)
  if (verification.storageMatches > 0) found.push(`${verification.storageMatches} stored path(s)`)
  const lastError = `verification found the account still present: ${found.join(', ')}`
  deps.metrics?.deletionStep('incomplete')
  deps.logger.error('erasure incomplete: the verification pass found data of the account', {
    deletionId: job.id,
    found: found.join(', '),
  })
  return writeTransaction(
    deps.store,
    async (tx) =>
      (await one(
        tx
          .update(accountDeletions)
          .set({
            step: 'incomplete',
            verification,
            attempts,
            lastError,
            nextAttemptAt: now + Math.min(MAX_BACKOFF_MS, 30 * SECOND * 2 ** (attempts - 1)),
            lockedUntil: null,
            updatedAt: now,
          })
          .where(eq(accountDeletions.id, job.id))
          .returning(),
      )) as DeletionRow,
  )
}

/** requested → running → done, as one call (DELETE /api/account, operator hard delete). */
export async function eraseAccount(
  deps: DeletionDeps,
  userId: string,
  mode: DeletionMode,
  replayHash: string | null = null,
) {
  const job = await requestDeletion(deps, userId, mode, replayHash)
  await maybePause(deps, 'requested')
  return runDeletion(deps, job.id)
}

async function loadJob(deps: DeletionDeps, id: string): Promise<DeletionRow> {
  const job = await readTransaction(deps.store, (tx) =>
    one(tx.select().from(accountDeletions).where(eq(accountDeletions.id, id))),
  )
  if (!job) throw new Error(`deletion ${id} vanished`)
  return job
}

/** Records reaching a step, renewing the lease (a recovery point). */
async function advance(
  deps: DeletionDeps,
  job: DeletionRow,
  step: DeletionStep,
  extra: Partial<DeletionRow> = {},
): Promise<DeletionRow> {
  const now = deps.clock.now()
  const row = await writeTransaction(
    deps.store,
    async (tx) =>
      (await one(
        tx
          .update(accountDeletions)
          .set({
            step,
            updatedAt: now,
            lockedUntil: now + deps.config.deletionLeaseMs,
            lastError: null,
            ...extra,
          })
          .where(eq(accountDeletions.id, job.id))
          .returning(),
      )) as DeletionRow,
  )
  deps.metrics?.deletionStep(step)
  return row
}

async function maybePause(deps: DeletionDeps, step: DeletionStep) {
  if (deps.deletionFaults) await deps.deletionFaults.afterStep(step)
}

/**
 * Step 2: at Stripe itself (not only our mirror), cancel every subscription that can still bill,
 * then delete the customer. `resource_missing` counts as done. POSTs carry idempotency keys
 * derived from the deletion id, so a resumed run repeats them safely.
 */
async function stopBilling(deps: DeletionDeps, job: DeletionRow): Promise<string[]> {
  if (!deps.billing) return ['billing disabled']
  const ownerId = job.userId
  const user = ownerId ? await readTransaction(deps.store, (tx) => getUser(tx, ownerId)) : undefined
  if (!user) return ['no account row']
  const billing = deps.billing
  const actions: string[] = []
  const { live, ended } = await subscriptionsToStop(deps, user.id, user.stripeCustomerId)
  for (const id of ended) actions.push(`subscription ${id} already ended`)
  for (const id of live) {
    const result = await billing.cancelSubscriptionNow(id, `custodian-deletion-${job.id}-cancel-${id}`)
    actions.push(result === 'canceled' ? `canceled subscription ${id}` : `subscription ${id} already gone`)
  }
  if (user.stripeCustomerId) {
    const result = await billing.deleteCustomer(
      user.stripeCustomerId,
      `custodian-deletion-${job.id}-delete-${user.stripeCustomerId}`,
    )
    actions.push(
      result === 'deleted'
        ? `deleted customer ${user.stripeCustomerId}`
        : `customer ${user.stripeCustomerId} already gone`,
    )
  }
  if (actions.length === 0) actions.push('no stripe customer')
  return actions
}

/**
 * Subscriptions to stop: the ones Stripe lists as able to bill, plus the one our mirror knows if
 * Stripe's list does not mention it at all. Stripe is the source of truth: a subscription it
 * reports as ended is not cancelled again because our mirror is stale.
 */
async function subscriptionsToStop(deps: DeletionDeps, userId: string, customerId: string | null) {
  const live = new Set<string>()
  const ended = new Set<string>()
  const listed = customerId && deps.billing ? await deps.billing.listSubscriptions(customerId) : []
  for (const s of listed) (isTerminal(s.status) ? ended : live).add(s.id)
  const mirror = await readTransaction(deps.store, (tx) => subscriptionOfUser(tx, userId))
  if (mirror && !isTerminal(mirror.status) && !listed.some((s) => s.id === mirror.stripeSubscriptionId))
    live.add(mirror.stripeSubscriptionId)
  return { live: [...live], ended: [...ended] }
}

/**
 * Step 3: remove stored files (while app ids and domains are still known), then every row the
 * registry reaches, in foreign-key-safe order. Large tables go in chunks that each hold the
 * write lock (and the event loop) for about 10 ms, with other requests served in between (measured:
 * reads of other accounts kept p99 ~26 ms during a 100,000-row erasure); the counts are saved with
 * every chunk so a resumed run keeps counting. The last transaction removes the rest — the user
 * row included — and records `data_erased`.
 */
async function eraseData(deps: DeletionDeps, job: DeletionRow): Promise<DeletionRow> {
  const { store } = deps
  const userId = job.userId as string
  const owned = await readTransaction(store, (tx) =>
    many(
      tx
        .select({ id: apps.id, domain: sites.customDomain })
        .from(apps)
        .leftJoin(sites, eq(sites.appId, apps.id))
        .where(eq(apps.userId, userId)),
    ),
  )
  // With the apps and domains gathered before the first run: a retry after the verification found
  // files left (their rows gone by then) removes them too.
  const gatheredIds = gathered.get(job.id)
  const appIds = new Set([...owned.map((a) => a.id), ...(gatheredIds?.appIds ?? [])])
  const domains = new Set([
    ...owned.flatMap((a) => (a.domain ? [a.domain] : [])),
    ...(gatheredIds?.domains ?? []),
  ])
  for (const appId of appIds) await deps.storage.removeAppFiles(appId)
  for (const domain of domains) await deps.storage.removeCertificate(domain)
  const archives = await readTransaction(store, (tx) =>
    many(tx.select({ id: exportArchives.id }).from(exportArchives).where(eq(exportArchives.userId, userId))),
  )
  const archiveIds = new Set([...archives.map((a) => a.id), ...(gatheredIds?.exportIds ?? [])])
  for (const id of archiveIds) await deps.storage.remove(archiveDirectory(id))
  // Every owned table appears in the receipt, zeros included (the dry run's shape).
  const counts: Record<string, number> = Object.fromEntries(OWNED_TABLES.map((t) => [t.name, 0]))
  Object.assign(counts, job.counts)
  let chunk = 1000
  // How long one chunk may hold its lock is the engine's (db/store.ts, erasureChunkMs).
  const target = store.erasureChunkMs
  for (const table of OWNED_TABLES) {
    if (table.name === 'users') continue
    // A row's physical address (rowid, ctid) picks each chunk without sorting.
    const chunkSql = (address: string) =>
      `DELETE FROM ${table.name} WHERE ${address} IN (SELECT ${address} FROM ${table.name} WHERE ${ownerWhere(table)} LIMIT ?2)`
    for (;;) {
      const started = performance.now()
      const deleted = await writeTransaction(store, async (tx) => {
        const raw = rawDbOf(tx)
        const n = (await raw.prepare(chunkSql(raw.words.rowAddress)).run(userId, chunk)).changes
        if (n > 0) {
          counts[table.name] = (counts[table.name] ?? 0) + n
          await exec(
            tx
              .update(accountDeletions)
              .set({ counts, updatedAt: deps.clock.now() })
              .where(eq(accountDeletions.id, job.id)),
          )
        }
        return n
      })
      if (deleted < chunk) break
      const took = performance.now() - started
      chunk =
        took > target
          ? Math.max(100, Math.floor(chunk / 2))
          : took < target / 3
            ? Math.min(50_000, chunk * 2)
            : chunk
      await new Promise((resolve) => setImmediate(resolve)) // let other requests in between chunks
    }
  }
  const row = await writeTransaction(store, async (tx) => {
    // IMPORTANT: a request authenticated just before the erasure was requested may have written a
    // row after its table's chunks were done; sweep every table again with the user row, so
    // nothing of the account outlives it. The row lock first: a write still holding the account
    // (db/row-locks.ts) commits before the sweep, which then sees its rows.
    await lockAccount(tx, userId, 'update')
    for (const table of OWNED_TABLES) {
      const n = (
        await rawDbOf(tx)
          .prepare(`DELETE FROM ${table.name} WHERE ${ownerWhere(table)}`)
          .run(userId)
      ).changes
      counts[table.name] = (counts[table.name] ?? 0) + n
    }
    await pseudonymiseRequests(tx, userId)
    const now = deps.clock.now()
    return (await one(
      tx
        .update(accountDeletions)
        .set({
          step: 'data_erased',
          counts,
          updatedAt: now,
          lockedUntil: now + deps.config.deletionLeaseMs,
          lastError: null,
        })
        .where(eq(accountDeletions.id, job.id))
        .returning(),
    )) as DeletionRow
  })
  // Files a request in flight wrote after the first pass: its own check removes them too
  // (sites.ts), this pass covers a request that died between its write and that check.
  for (const appId of appIds) await deps.storage.removeAppFiles(appId)
  // An archive build racing the erasure stops at its next part and removes its own files; this
  // pass covers one that died in between.
  for (const id of archiveIds) await deps.storage.remove(archiveDirectory(id))
  if (job.userId) await deps.rateLimitStore?.forget?.(`user:${job.userId}`)
  deps.metrics?.deletionStep('data_erased')
  return row
}

/**
 * Step 4: the receipt and its certificate. The user id is dropped; only its pseudonym, counts,
 * Stripe steps and the verification remain.
 */
async function finish(
  deps: DeletionDeps,
  job: DeletionRow,
  verification: ErasureVerification,
): Promise<DeletionRow> {
  const row = await writeTransaction(deps.store, async (tx) => {
    const now = deps.clock.now()
    const processors = (await processorsOf(tx, [job.id])).get(job.id) ?? []
    await issueCertificate(tx, job, verification, processors, now)
    await fulfilErasureRequests(tx, job.id, job.userHash, now)
    if (job.userId) {
      const total = Object.values(job.counts ?? {}).reduce((a, b) => a + b, 0)
      await recordAudit(tx, deps.clock, job.userId, 'account.deletion_completed', {
        mode: job.mode,
        rows: total,
      })
      await emitEvent(tx, deps.clock, 'account.erased', job.userId, {
        user_id: job.userId,
        erasure_id: job.id,
      })
    }
    return (await one(
      tx
        .update(accountDeletions)
        .set({
          step: 'done',
          userId: null,
          verification,
          completedAt: now,
          updatedAt: now,
          lockedUntil: null,
          nextAttemptAt: null,
          lastError: null,
        })
        .where(eq(accountDeletions.id, job.id))
        .returning(),
    )) as DeletionRow
  })
  deps.metrics?.deletionStep('done')
  deps.erasureLedger?.append(ledgerEntryOf(row))
  // The other instances copy it into their own ledgers (erasure-ledger.ts, copyErasuresFromStore).
  deps.store
    .announce(ERASURES_CHANNEL)
    .catch((error) =>
      deps.logger.warn('could not announce an erasure to other instances', errorFields(error)),
    )
  // The erased bytes out of the WAL (SQLite) or the dead row versions and statistics (PostgreSQL).
  deps.store.afterErasure(ERASURE_TOUCHED_TABLES, (message, error) =>
    deps.logger.warn(message, error === undefined ? undefined : errorFields(error)),
  )
  return row
}

/**
 * Re-applies erasures recorded in the ledger that the database does not know (it was restored
 * from a backup taken before them), erasing those accounts locally — Stripe was stopped by the
 * original erasure. Run before the server serves a request and by `custodian restore`.
 */
export async function applyErasureLedger(deps: DeletionDeps) {
  if (!deps.erasureLedger) return { appended: 0, erased: 0, receiptsCopied: 0, blocked: 0, holdsPutBack: 0 }
  // Holds first: a replayed erasure passes the same hold check as any other.
  const holds = await reconcileHolds(deps.store, deps.erasureLedger, true)
  const reconciled = await reconcileLedger(deps.store, deps.erasureLedger, deps.clock.now())
  const local: DeletionDeps = { ...deps, billing: null, erasureLedger: undefined }
  let blocked = 0
  for (const { deletionId } of reconciled.toErase)
    try {
      await runDeletion(local, deletionId)
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'LEGAL_HOLD')) throw error
      blocked++ // recorded as blocked_legal_hold; the hold's release resumes it
    }
  return {
    appended: reconciled.appended,
    erased: reconciled.toErase.length - blocked,
    receiptsCopied: reconciled.receiptsCopied,
    blocked,
    holdsPutBack: holds.putBack,
  }
}

/** The account's unfinished erasure (by pseudonym), for its receipt link. */
export function pendingErasureOf(store: Store, userHash: string) {
  return readTransaction(store, (tx) =>
    one(
      tx
        .select({ id: accountDeletions.id, step: accountDeletions.step })
        .from(accountDeletions)
        .where(and(eq(accountDeletions.userHash, userHash), ne(accountDeletions.step, 'done')))
        .limit(1),
    ),
  )
}

/** Erasures needing an operator's eye (the `custodian_erasures` gauge). */
export function erasuresNeedingAttention(store: Store) {
  return readTransaction(store, async (tx) => {
    const rows = await many(
      tx
        .select({ step: accountDeletions.step, n: count() })
        .from(accountDeletions)
        .where(inArray(accountDeletions.step, ['incomplete', 'blocked_legal_hold']))
        .groupBy(accountDeletions.step),
    )
    const of = (step: string) => Number(rows.find((r) => r.step === step)?.n ?? 0)
    return { incomplete: of('incomplete'), blocked_legal_hold: of('blocked_legal_hold') }
  })
}

/**
 * Records a failed attempt with backoff and releases the lease. Before billing has stopped,
 * nothing was erased: the account's credentials work again (fail closed, account usable).
 */
async function recordFailure(deps: DeletionDeps, job: DeletionRow, error: unknown) {
  deps.metrics?.deletionStep('failed')
  const now = deps.clock.now()
  const attempts = job.attempts + 1
  const backoff = Math.min(MAX_BACKOFF_MS, 30 * SECOND * 2 ** (attempts - 1))
  const message = error instanceof Error ? error.message.slice(0, 500) : String(error).slice(0, 500)
  await writeTransaction(deps.store, async (tx) => {
    await exec(
      tx
        .update(accountDeletions)
        .set({
          attempts,
          lastError: message,
          nextAttemptAt: now + backoff,
          lockedUntil: null,
          updatedAt: now,
        })
        .where(eq(accountDeletions.id, job.id)),
    )
    if (job.step === 'requested' && job.userId)
      await exec(tx.update(users).set({ erasureRequestedAt: null }).where(eq(users.id, job.userId)))
  })
  deps.logger.warn('deletion attempt failed', {
    deletionId: job.id,
    step: job.step,
    attempts,
    ...errorFields(error),
  })
}

/** Worker: resumes deletions stuck between steps whose backoff has passed. */
export async function resumeDueDeletions(deps: DeletionDeps): Promise<number> {
  const now = deps.clock.now()
  const due = await readTransaction(deps.store, (tx) =>
    many(
      tx
        .select({ id: accountDeletions.id, userId: accountDeletions.userId, step: accountDeletions.step })
        .from(accountDeletions)
        .where(
          and(
            notInArray(accountDeletions.step, ['done', 'blocked_legal_hold']),
            or(isNull(accountDeletions.nextAttemptAt), lte(accountDeletions.nextAttemptAt, now)),
            or(isNull(accountDeletions.lockedUntil), lte(accountDeletions.lockedUntil, now)),
          ),
        )
        .orderBy(asc(accountDeletions.requestedAt))
        .limit(20),
    ),
  )
  let completed = 0
  for (const job of due) {
    if (!(await claimLease(deps, job.id))) continue
    const userId = job.step === 'requested' ? job.userId : null
    // In a write transaction: the account's credentials stop working everywhere when it commits.
    if (userId)
      await writeTransaction(deps.store, (tx) =>
        exec(tx.update(users).set({ erasureRequestedAt: now }).where(eq(users.id, userId))),
      )
    try {
      await runDeletion(deps, job.id)
      completed++
    } catch {
      // Recorded with its backoff (or as blocked by a hold) by runDeletion; the next pass tries again.
    }
  }
  return completed
}

/** Worker: hard-deletes soft-deleted accounts whose grace period is over. */
export async function hardDeleteDueAccounts(deps: DeletionDeps): Promise<number> {
  const now = deps.clock.now()
  const due = await readTransaction(deps.store, (tx) =>
    many(
      tx
        .select({ id: users.id })
        .from(users)
        .where(
          and(
            isNotNull(users.softDeletedAt),
            lte(users.deleteScheduledAt, now),
            isNull(users.erasureRequestedAt),
            // Held: its blocked request is on record already (and resumes when the hold goes).
            sql`NOT EXISTS (SELECT 1 FROM ${accountDeletions} WHERE ${accountDeletions.userId} = ${users.id} AND ${accountDeletions.step} = 'blocked_legal_hold')`,
          ),
        )
        .limit(20),
    ),
  )
  let completed = 0
  for (const { id } of due) {
    try {
      await eraseAccount(deps, id, 'scheduled')
      completed++
    } catch {
      // Recorded on the deletion row: resumeDueDeletions retries it with backoff, or the hold's release resumes it.
    }
  }
  return completed
}

/** Deletion jobs and receipts, newest first (PII-free). */
export function listDeletions(
  store: Store,
  limit: number,
  before: { requestedAt: number; id: string } | null,
) {
  return readTransaction(store, async (tx) => {
    const rows = await many(
      tx
        .select()
        .from(accountDeletions)
        .where(
          olderThan(
            accountDeletions.requestedAt,
            accountDeletions.id,
            before && { at: before.requestedAt, id: before.id },
          ),
        )
        .orderBy(desc(accountDeletions.requestedAt), desc(accountDeletions.id))
        .limit(limit + 1),
    )
    const hasMore = rows.length > limit
    const page = hasMore ? rows.slice(0, limit) : rows
    return {
      rows: page,
      hasMore,
      processors: await processorsOf(
        tx,
        page.map((row) => row.id),
      ),
    }
  })
}
