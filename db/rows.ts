import type {
  accountDeletions,
  apiKeys,
  apps,
  quotaTiers,
  quotaUsage,
  sandboxes,
  sites,
  subscriptions,
  teams,
  users,
} from './schema'

// The rows the store hands back, one name per table: services take and return these, projections
// turn them into each dialect's JSON. They belong with the store (a second store must produce the
// same shapes), not with either of their users.
export type UserRow = typeof users.$inferSelect
export type TeamRow = typeof teams.$inferSelect
export type QuotaTierRow = typeof quotaTiers.$inferSelect
export type QuotaUsageRow = typeof quotaUsage.$inferSelect
export type ApiKeyRow = typeof apiKeys.$inferSelect
export type AppRow = typeof apps.$inferSelect
export type SiteRow = typeof sites.$inferSelect
export type SubscriptionRow = typeof subscriptions.$inferSelect
export type SandboxRow = typeof sandboxes.$inferSelect
export type DeletionRow = typeof accountDeletions.$inferSelect
