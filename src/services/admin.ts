import { and, asc, desc, eq, gt, like, sql } from 'drizzle-orm'
import { many, one } from '../../db/query'
import { readTransaction, type Store, type Tx, writeTransaction } from '../../db/store'
import { apiKeys, quotaTiers, sandboxes, teams, users } from '../../db/tables'
import { AppError, fieldError } from '../errors'
import type { Clock } from '../lib/clock'
import { getUser, normaliseEmail, personalTeam, type UserRow } from './accounts'

/** The admin detail shows this many most recent sandboxes; the export has all of them. */
export const ADMIN_DETAIL_SANDBOXES = 100

export async function requireUser(tx: Tx, userId: string): Promise<UserRow> {
  const user = await getUser(tx, userId)
  if (!user) throw new AppError('ACCOUNT_NOT_FOUND', 'No such account.')
  return user
}

/** Users whose email contains `query`, in creation order (UUID v7), keyset-paged. */
export function searchUsers(store: Store, query: string, limit: number, afterId: string | null) {
  return readTransaction(store, (tx) => searchUsersIn(tx, query, limit, afterId))
}

export async function searchUsersIn(tx: Tx, query: string, limit: number, afterId: string | null) {
  const pattern = `%${normaliseEmail(query).replace(/[\\%_]/g, (c) => `\\${c}`)}%`
  const rows = await many(
    tx
      .select()
      .from(users)
      .where(
        and(
          query ? like(users.email, sql`${pattern} ESCAPE '\\'`) : undefined,
          afterId ? gt(users.id, afterId) : undefined,
        ),
      )
      .orderBy(asc(users.id))
      .limit(limit + 1),
  )
  const hasMore = rows.length > limit
  const page = hasMore ? rows.slice(0, limit) : rows
  return { users: page, lastId: hasMore ? (page[page.length - 1]?.id ?? null) : null }
}

export async function userKeysAndSandboxes(tx: Tx, userId: string, teamId: string) {
  return {
    keys: await many(
      tx.select().from(apiKeys).where(eq(apiKeys.userId, userId)).orderBy(desc(apiKeys.createdAt)),
    ),
    sandboxes: await many(
      tx
        .select()
        .from(sandboxes)
        .where(eq(sandboxes.teamId, teamId))
        .orderBy(desc(sandboxes.createdAt), desc(sandboxes.id))
        .limit(ADMIN_DETAIL_SANDBOXES),
    ),
  }
}

/** Moves a user and its personal team to another quota tier, in one transaction. */
export function setQuotaTier(store: Store, clock: Clock, userId: string, tierId: string) {
  return writeTransaction(store, async (tx) => {
    const tier = await one(tx.select().from(quotaTiers).where(eq(quotaTiers.id, tierId)))
    if (!tier) throw fieldError(['quota_tier_id'], `unknown quota tier "${tierId}"`)
    const now = clock.now()
    const user = await one(
      tx
        .update(users)
        .set({ quotaTierId: tier.id, tier: tier.id, updatedAt: now })
        .where(eq(users.id, userId))
        .returning(),
    )
    if (!user) throw new AppError('ACCOUNT_NOT_FOUND', 'No such account.')
    const team = await personalTeam(tx, userId)
    const updatedTeam = await one(
      tx.update(teams).set({ quotaTierId: tier.id, updatedAt: now }).where(eq(teams.id, team.id)).returning(),
    )
    return { user, team: updatedTeam ?? team, tier }
  })
}
