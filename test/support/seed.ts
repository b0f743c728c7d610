import { OWNED_TABLES, ownerWhere } from '../../db/ownership'
import { exec } from '../../db/query'
import type { PageKind } from '../../db/schema'
import type { Store } from '../../db/store'
import { rawDbOf, readTransaction, writeTransaction } from '../../db/store'
import * as schema from '../../db/tables'
import type { Clock } from '../../src/lib/clock'
import { sha256Hex } from '../../src/lib/crypto'
import type { TeamRow, UserRow } from '../../src/services/accounts'
import { createKey } from '../../src/services/keys'

/** What the seeder needs: a store and a clock (a TestApp has both; so does a bench server). */
export interface SeedTarget {
  store: Store
  clock: Clock
}
export interface SeedUser {
  user: UserRow
  team: TeamRow
  apiKey: string
}

export const PAGE_KINDS: PageKind[] = ['support', 'deletion', 'testflight', 'aasa', 'privacy_manifest']

export interface SeedOptions {
  /** App names (slugs are made unique with the user's suffix). @default ['My App', 'Other App'] */
  appNames?: string[]
  sandboxes?: number
  usageDays?: number
  /** Metadata put on every sandbox (isolation tests use equal metadata across users). */
  metadata?: Record<string, unknown>
  /** Runtime keys beyond one of each kind. @default 0 */
  extraKeys?: number
}

export interface SeededAccount {
  /** Plaintext keys minted for the user (must never appear in an export). */
  plaintexts: string[]
  /** Seeded row ids per owned table (each id is the row's id columns, in order). */
  ids: Record<string, string[][]>
  appIds: string[]
}

/**
 * Puts at least one row in every owned table for `u`: apps with every page kind, a site, a
 * policy, policy versions and deploys each; a subscription; keys of every kind; sandboxes in
 * several states; usage; an idempotency key. Everything goes in through the store, like data
 * written by any route.
 */
export async function seedFullAccount(
  t: SeedTarget,
  u: SeedUser,
  options: SeedOptions = {},
): Promise<SeededAccount> {
  const now = t.clock.now()
  const suffix = u.user.id.slice(-8)
  const appNames = options.appNames ?? ['My App', 'Other App']
  const extraKeys = options.extraKeys ?? 0
  const plaintexts = [u.apiKey]
  for (const kind of ['orbit', 'runtime', 'operator'] as const)
    plaintexts.push(
      (
        await createKey(t.store, t.clock, {
          userId: u.user.id,
          teamId: u.team.id,
          kind,
          name: `${kind} key`,
          scope: kind === 'operator' ? 'operator' : null,
          enforceLimit: false,
        })
      ).plaintext,
    )
  for (let i = 0; i < extraKeys; i++)
    plaintexts.push(
      (
        await createKey(t.store, t.clock, {
          userId: u.user.id,
          teamId: u.team.id,
          kind: 'runtime',
          name: `extra ${i}`,
          scope: null,
          enforceLimit: false,
        })
      ).plaintext,
    )
  const appIds: string[] = []
  await writeTransaction(t.store, async (tx) => {
    for (const [i, appName] of appNames.entries()) {
      const appId = `-N${suffix}${String(i).padStart(2, '0')}${'x'.repeat(8)}`.slice(0, 20)
      appIds.push(appId)
      const slug = `${appName.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${suffix}`
      await exec(
        tx.insert(schema.apps).values({
          id: appId,
          userId: u.user.id,
          appName,
          slug,
          deployed: i === 0,
          deployedAt: i === 0 ? now : null,
          createdAt: now + i,
          updatedAt: now + i,
        }),
      )
      await exec(
        tx.insert(schema.sites).values({
          appId,
          description: `${appName} description`,
          iconUrl: `https://cdn.example/${appId}.png`,
          iconColor: '#336699',
          smartBanner: { appStoreId: '123456789' },
          wellKnownFiles: {
            appleDeveloperDomainAssociation: true,
            appleDeveloperMerchantId: false,
            appleWalletOrderType: false,
          },
          createdAt: now,
          updatedAt: now,
        }),
      )
      await exec(
        tx.insert(schema.policies).values({
          appId,
          data: { 'app-info': { app_name: appName, developer_name: 'Dev', email: 'dev@example.com' } },
          createdAt: now,
          updatedAt: now,
        }),
      )
      for (const kind of PAGE_KINDS)
        await exec(
          tx
            .insert(schema.appPages)
            .values({ appId, kind, data: { note: `${kind} of ${appName}` }, createdAt: now, updatedAt: now }),
        )
      for (let v = 0; v < 2; v++)
        await exec(
          tx.insert(schema.policyVersions).values({
            id: `pv_${appId}_${v}`,
            appId,
            snapshotAt: now + v,
            trigger: 'deploy',
            appName,
            policyData: { v },
          }),
        )
      for (let d = 0; d < 2; d++)
        await exec(
          tx.insert(schema.deploys).values({
            id: `dp_${appId}_${d}`,
            appId,
            deployedAt: now + d,
            url: `http://custodian.test/sites/${slug}/`,
            pages: ['privacyPolicy'],
          }),
        )
    }
    await exec(
      tx.insert(schema.subscriptions).values({
        id: `sub_row_${suffix}`,
        userId: u.user.id,
        stripeSubscriptionId: `sub_${suffix}`,
        status: 'active',
        planType: 'monthly',
        quantity: 1,
        currentPeriodEnd: Math.floor(now / 1000) + 86400,
        createdAt: now,
        updatedAt: now,
      }),
    )
    // A hold placed and released: its row is the account's (exported, erased) yet holds nothing.
    await exec(
      tx.insert(schema.legalHolds).values({
        userId: u.user.id,
        reason: `litigation ${suffix}`,
        placedAt: now - 2,
        releasedAt: now - 1,
        updatedAt: now - 1,
      }),
    )
    // A console sign-in (the account as an operator would have): a hash, erased with the account.
    await exec(
      tx.insert(schema.consoleSessions).values({
        id: sha256Hex(`console:${u.user.id}`),
        userId: u.user.id,
        createdAt: now,
        expiresAt: now + 10 * 365 * 24 * 3600_000,
      }),
    )
    // An archive that failed (no files): the table's row, erased with the account.
    await exec(
      tx.insert(schema.exportArchives).values({
        id: `exp_${suffix}${'0'.repeat(24)}`,
        userId: u.user.id,
        format: 'json',
        status: 'failed',
        requestedBy: 'v1',
        error: 'seeded',
        createdAt: now,
        updatedAt: now,
      }),
    )
    const statuses = ['running', 'paused', 'destroyed'] as const
    const sandboxCount = options.sandboxes ?? 3
    const rows = []
    for (let i = 0; i < sandboxCount; i++)
      rows.push({
        id: `sb_${suffix}${String(i).padStart(8, '0')}`,
        teamId: u.team.id,
        userId: u.user.id,
        template: 'base',
        status: statuses[i % 3] as (typeof statuses)[number],
        vcpus: 1,
        memoryMb: 256,
        metadata: options.metadata ?? { project: 'demo' },
        createdAt: now + i,
        updatedAt: now + i,
        startedAt: now + i,
        destroyedAt: statuses[i % 3] === 'destroyed' ? now + i + 1000 : null,
        chargedUntil: now + i,
      })
    for (let i = 0; i < rows.length; i += 500)
      await exec(tx.insert(schema.sandboxes).values(rows.slice(i, i + 500)))
    for (let d = 0; d < (options.usageDays ?? 3); d++)
      await exec(
        tx.insert(schema.quotaUsage).values({
          teamId: u.team.id,
          usageDate: new Date(now - d * 86_400_000).toISOString().slice(0, 10),
          sandboxCreates: d + 1,
          gbHours: 0.25,
          updatedAt: now,
        }),
      )
    // Stale on purpose (no settled day): the first create recomputes it from the rows above.
    await exec(
      tx.insert(schema.teamSandboxTotals).values({
        teamId: u.team.id,
        active: 0,
        runningMemoryMb: 0,
        runningChargedMibMs: 0,
        settledDay: null,
      }),
    )
    await exec(
      tx.insert(schema.idempotencyKeys).values({
        principal: u.user.id,
        key: `idem-${suffix}`,
        method: 'POST',
        path: '/api/api-keys',
        fingerprint: 'f',
        state: 'done',
        status: 201,
        body: `{"key":"SECRET-REPLAY-BODY-${suffix}"}`,
        contentType: 'application/json',
        createdAt: now,
        lockedAt: now,
        expiresAt: now + 86_400_000,
      }),
    )
  })
  return { plaintexts, ids: await ownedRowIds(t, u.user.id), appIds }
}

/** The id columns of every row the registry reaches from a user, per table. */
export function ownedRowIds(t: SeedTarget, userId: string): Promise<Record<string, string[][]>> {
  return readTransaction(t.store, async (tx) => {
    const ids: Record<string, string[][]> = {}
    for (const table of OWNED_TABLES) {
      const rows = (await rawDbOf(tx)
        .prepare(`SELECT ${table.idColumns.join(', ')} FROM ${table.name} WHERE ${ownerWhere(table)}`)
        .all(userId)) as Record<string, unknown>[]
      // In key order, whatever order the engine returns them in.
      ids[table.name] = rows
        .map((r) => Object.values(r).map(String))
        .sort((a, b) => (a.join() < b.join() ? -1 : 1))
    }
    return ids
  })
}

/** One running sandbox of the user's team, written directly (tests of what a live one blocks). */
export function insertRunningSandbox(t: SeedTarget, u: SeedUser, id: string) {
  const now = t.clock.now()
  return writeTransaction(
    t.store,
    async (tx) =>
      await exec(
        tx.insert(schema.sandboxes).values({
          id,
          teamId: u.team.id,
          userId: u.user.id,
          template: 'base',
          status: 'running',
          vcpus: 1,
          memoryMb: 256,
          createdAt: now,
          updatedAt: now,
          startedAt: now,
          chargedUntil: now,
        }),
      ),
  )
}
