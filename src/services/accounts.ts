import { eq, sql } from 'drizzle-orm'
import { exec, one } from '../../db/query'
import { rowsOf } from '../../db/row-reader'
import type { QuotaTierRow, QuotaUsageRow, TeamRow, UserRow } from '../../db/rows'
import * as schema from '../../db/schema'
import { preparedFor, type Store, type Tx, writeTransaction } from '../../db/store'
import { teams, users } from '../../db/tables'
import { AppError } from '../errors'
import { type Clock, DAY } from '../lib/clock'
import { isValidEmail, normaliseEmail } from '../lib/email'
import { randomBase62, uuidv7 } from '../lib/ids'
import { slugify } from '../lib/slug'
import { startOfUtcDay, utcDay } from '../lib/time'
import { emitEvent } from './events'

export type { QuotaTierRow, QuotaUsageRow, TeamRow, UserRow }

export { isValidEmail, normaliseEmail }

export interface NewUser {
  /** Defaults to a fresh UUID v7; session users keep their identity provider's subject. */
  id?: string
  email: string
  isOperator?: boolean
  emailVerified?: boolean
}

/**
 * Creates a user and its personal team in the caller's transaction. Throws CONFLICT when the
 * email is taken (the unique index decides, not a prior read).
 */
export async function createUserWithTeam(
  tx: Tx,
  clock: Clock,
  input: NewUser,
): Promise<{ user: UserRow; team: TeamRow }> {
  const now = clock.now()
  const email = normaliseEmail(input.email)
  if (!isValidEmail(email))
    throw new AppError('VALIDATION_FAILED', 'Validation failed: email: must be an email address', {
      issues: [{ path: ['email'], message: 'must be an email address' }],
    })
  const existing = await one(tx.select({ id: users.id }).from(users).where(eq(users.email, email)))
  if (existing) throw new AppError('CONFLICT', 'An account with this email already exists.')
  const user = await one(
    tx
      .insert(users)
      .values({
        id: input.id ?? uuidv7(clock),
        email,
        isOperator: input.isOperator ?? false,
        emailVerifiedAt: input.emailVerified ? now : null,
        lastActiveAt: startOfUtcDay(now),
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
  )
  const local = slugify(email.split('@')[0] ?? '', 40) || 'team'
  const team = await one(
    tx
      .insert(teams)
      .values({
        id: uuidv7(clock),
        ownerUserId: user.id,
        name: `${email.split('@')[0]}'s team`,
        slug: `${local}-${randomBase62(8).toLowerCase()}`,
        quotaTierId: user.quotaTierId,
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
  )
  await emitEvent(tx, clock, 'account.created', user.id, {
    user_id: user.id,
    team_id: team.id,
    email_verified: user.emailVerifiedAt !== null,
    is_operator: user.isOperator,
  })
  return { user, team }
}

// The account reads of every GET and PATCH of /v1/account/me: raw (db/row-reader.ts: rowsOf).
const userById = rowsOf<typeof schema.users, { id: string }>(schema.users, 'WHERE id = $id')
const userByEmail = preparedFor((orm) =>
  orm
    .select()
    .from(users)
    .where(eq(users.email, sql.placeholder('email')))
    .prepare(),
)
const teamOfOwner = rowsOf<typeof schema.teams, { owner: string }>(
  schema.teams,
  'WHERE owner_user_id = +$owner ORDER BY created_at LIMIT 1',
)
const tierById = rowsOf<typeof schema.quotaTiers, { id: string }>(schema.quotaTiers, 'WHERE id = $id')
const usageSince = rowsOf<typeof schema.quotaUsage, { team: string; since: string }>(
  schema.quotaUsage,
  'WHERE team_id = +$team AND usage_date >= +$since ORDER BY usage_date DESC',
)

export async function findUserByEmail(tx: Tx, email: string): Promise<UserRow | undefined> {
  return await one(userByEmail(tx), { email: normaliseEmail(email) })
}

export async function getUser(tx: Tx, userId: string): Promise<UserRow | undefined> {
  return await userById.get(tx, { id: userId })
}

/** The user's personal team. */
export async function personalTeam(tx: Tx, userId: string): Promise<TeamRow> {
  const team = await teamOfOwner.get(tx, { owner: userId })
  if (!team) throw new Error(`user ${userId} has no personal team`)
  return team
}

export async function quotaTier(tx: Tx, tierId: string): Promise<QuotaTierRow> {
  const tier = await tierById.get(tx, { id: tierId })
  if (!tier) throw new Error(`quota tier ${tierId} does not exist`)
  return tier
}

/** Usage rows of the last `days` UTC days, newest first. */
export async function recentUsage(tx: Tx, teamId: string, clock: Clock, days = 30): Promise<QuotaUsageRow[]> {
  return await usageSince.all(tx, { team: teamId, since: utcDay(clock.now() - (days - 1) * DAY) })
}

export interface ProfilePatch {
  displayName?: string | null
  avatarUrl?: string | null
  name?: string | null
}

// One prepared UPDATE for any combination of fields: a field is written only when its `set*`
// flag is 1 (absent means "keep", null means "clear").
const profileUpdate = preparedFor((orm) =>
  orm
    .update(users)
    .set({
      displayName: sql`CASE WHEN ${sql.placeholder('setDisplayName')} = 1 THEN ${sql.placeholder('displayName')} ELSE ${users.displayName} END`,
      avatarUrl: sql`CASE WHEN ${sql.placeholder('setAvatarUrl')} = 1 THEN ${sql.placeholder('avatarUrl')} ELSE ${users.avatarUrl} END`,
      name: sql`CASE WHEN ${sql.placeholder('setName')} = 1 THEN ${sql.placeholder('name')} ELSE ${users.name} END`,
      updatedAt: sql`${sql.placeholder('now')}`,
    })
    .where(eq(users.id, sql.placeholder('id')))
    .prepare(),
)

export async function updateProfile(
  store: Store,
  clock: Clock,
  userId: string,
  patch: ProfilePatch,
): Promise<void> {
  const result = await writeTransaction(store, async (tx) => {
    const updated = await exec(profileUpdate(tx), {
      id: userId,
      now: clock.now(),
      setDisplayName: patch.displayName === undefined ? 0 : 1,
      displayName: patch.displayName ?? null,
      setAvatarUrl: patch.avatarUrl === undefined ? 0 : 1,
      avatarUrl: patch.avatarUrl ?? null,
      setName: patch.name === undefined ? 0 : 1,
      name: patch.name ?? null,
    })
    // Which fields changed, never their values (a name is personal data).
    if (updated.changes > 0)
      await emitEvent(tx, clock, 'account.updated', userId, {
        user_id: userId,
        changed: (['displayName', 'avatarUrl', 'name'] as const)
          .filter((field) => patch[field] !== undefined)
          .map((field) => ({ displayName: 'display_name', avatarUrl: 'avatar_url', name: 'name' })[field]),
      })
    return updated
  })
  if (result.changes === 0) throw new AppError('ACCOUNT_NOT_FOUND', 'No such account.')
}
