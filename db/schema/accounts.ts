import { sql } from 'drizzle-orm'
import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core'

export interface PaymentMethodSummary {
  id: string
  brand: string
  last4: string
  expMonth: number
  expYear: number
}

/** System data: the quota tiers a team can be placed on. Seeded by a migration. */
export const quotaTiers = sqliteTable('quota_tiers', {
  id: text('id').primaryKey(),
  displayName: text('display_name').notNull(),
  maxConcurrentSandboxes: integer('max_concurrent_sandboxes').notNull(),
  dailySandboxCreates: integer('daily_sandbox_creates').notNull(),
  dailyGbHours: real('daily_gb_hours').notNull(),
})

export const users = sqliteTable(
  'users',
  {
    id: text('id').primaryKey(),
    /** Stored lower-case; unique across the install. */
    email: text('email').notNull().unique(),
    name: text('name'),
    displayName: text('display_name'),
    /** Projected as `photoURL` by the /api dialect. */
    avatarUrl: text('avatar_url'),
    emailVerifiedAt: integer('email_verified_at'),
    isOperator: integer('is_operator', { mode: 'boolean' }).notNull().default(false),
    tier: text('tier').notNull().default('free'),
    quotaTierId: text('quota_tier_id')
      .notNull()
      .default('free')
      .references(() => quotaTiers.id),
    abuseFlags: text('abuse_flags', { mode: 'json' })
      .$type<Record<string, unknown>>()
      .notNull()
      .default(sql`'{}'`),
    stripeCustomerId: text('stripe_customer_id').unique(),
    /** Local mirror of the customer's default card at Stripe (no card number, only its summary). */
    paymentMethod: text('payment_method', { mode: 'json' }).$type<PaymentMethodSummary>(),
    /** Set once the account has had a trial, so a second subscription starts without one. */
    trialUsedAt: integer('trial_used_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    softDeletedAt: integer('soft_deleted_at'),
    deleteScheduledAt: integer('delete_scheduled_at'),
    /**
     * Internal: set while an erasure is executing. From this moment every credential of the
     * user is refused, even before the data is gone (docs/spec/data-rights.md §2 step 1). Cleared again
     * when the erasure fails closed at Stripe, so the account stays usable.
     */
    erasureRequestedAt: integer('erasure_requested_at'),
    /**
     * Start of the UTC day of the last authenticated request (written at most once a day per
     * account); set at creation, and to the creation time for accounts older than the column.
     */
    lastActiveAt: integer('last_active_at'),
    /** When the retention reaper warned of inactivity; any authenticated request clears it. */
    inactivityWarnedAt: integer('inactivity_warned_at'),
  },
  (t) => [
    index('users_delete_scheduled_at_idx').on(t.deleteScheduledAt),
    // Retention finds the unwarned inactive and the warned by ranges of this one index, not by
    // reading every user (services/retention.ts).
    index('users_inactivity_idx').on(t.inactivityWarnedAt, t.lastActiveAt),
  ],
)

export const teams = sqliteTable(
  'teams',
  {
    id: text('id').primaryKey(),
    ownerUserId: text('owner_user_id')
      .notNull()
      .references(() => users.id),
    name: text('name').notNull(),
    slug: text('slug').notNull().unique(),
    quotaTierId: text('quota_tier_id')
      .notNull()
      .default('free')
      .references(() => quotaTiers.id),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    softDeletedAt: integer('soft_deleted_at'),
  },
  (t) => [index('teams_owner_user_id_idx').on(t.ownerUserId, t.createdAt)],
)

/** One row per team per UTC day. */
export const quotaUsage = sqliteTable(
  'quota_usage',
  {
    teamId: text('team_id')
      .notNull()
      .references(() => teams.id),
    /** `YYYY-MM-DD`, UTC. */
    usageDate: text('usage_date').notNull(),
    sandboxCreates: integer('sandbox_creates').notNull().default(0),
    gbHours: real('gb_hours').notNull().default(0),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.teamId, t.usageDate] }),
    // The console's top teams of a day and creates per day read ranges of this one.
    index('quota_usage_day_idx').on(t.usageDate, t.sandboxCreates),
  ],
)
