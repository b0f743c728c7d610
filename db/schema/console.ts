import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { users } from './accounts'

/**
 * Operator console sessions (services/console-sessions.ts). The cookie carries a random token;
 * only its SHA-256 is kept, so a copy of the database signs nobody in. Revoked by deleting the row.
 */
export const consoleSessions = sqliteTable(
  'console_sessions',
  {
    /** SHA-256 (hex) of the cookie's token. */
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('console_sessions_user_idx').on(t.userId, t.createdAt)],
)

/**
 * Refused sandbox creates per UTC day and kind of limit, for the console's overview. Counts only:
 * which team was refused is announced by `sandbox.quota_exceeded`, not kept here.
 */
export const quotaRefusals = sqliteTable(
  'quota_refusals',
  {
    /** `YYYY-MM-DD`, UTC. */
    usageDate: text('usage_date').notNull(),
    /** daily_creates, concurrent_sandboxes or daily_gb_hours. */
    quota: text('quota').notNull(),
    refusals: integer('refusals').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.usageDate, t.quota] })],
)
