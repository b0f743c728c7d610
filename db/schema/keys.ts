import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { teams, users } from './accounts'

export type ApiKeyKind = 'orbit' | 'runtime' | 'operator'

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    teamId: text('team_id').references(() => teams.id),
    kind: text('kind').$type<ApiKeyKind>().notNull(),
    /** Display prefix only (`ok_AbCd1234`, `ns_live_1a2b3c4d`); never enough to authenticate. */
    keyPrefix: text('key_prefix').notNull(),
    /** SHA-256 (hex) of the whole key. IMPORTANT: never exported, logged or returned. */
    keyHash: text('key_hash').notNull().unique(),
    name: text('name'),
    scope: text('scope'),
    isActive: integer('is_active', { mode: 'boolean' }).notNull().default(true),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at'),
    revokedAt: integer('revoked_at'),
    expiresAt: integer('expires_at'),
    rotationParentKeyId: text('rotation_parent_key_id'),
    /** Set when a /v1 soft delete deactivated the key, so a restore knows which keys to revive. */
    suspendedAt: integer('suspended_at'),
  },
  (t) => [
    index('api_keys_user_kind_idx').on(t.userId, t.kind),
    // The console finds an account by a key's prefix (a range of this index).
    index('api_keys_prefix_idx').on(t.keyPrefix),
  ],
)
