import { t } from 'elysia'
import { toRfc3339 } from '../lib/time'
import type { LegalHoldRow } from '../services/legal-holds'
import type { RetentionCandidate } from '../services/retention'
import { DateTime, nullable, oneOf } from './schema-helpers'

export const V1LegalHold = t.Object({
  user_id: t.String(),
  reason: t.String(),
  confidential: t.Boolean({
    description: 'When true the account’s export shows that a hold exists, not its reason',
  }),
  until: nullable(DateTime),
  placed_at: DateTime,
  released_at: nullable(DateTime),
  updated_at: DateTime,
})

export const projectHoldForV1 = (h: LegalHoldRow) => ({
  user_id: h.userId,
  reason: h.reason,
  confidential: h.confidential,
  until: toRfc3339(h.until),
  placed_at: toRfc3339(h.placedAt),
  released_at: toRfc3339(h.releasedAt),
  updated_at: toRfc3339(h.updatedAt),
})

export const V1RetentionAccount = t.Object({
  user_id: t.String(),
  last_active_at: DateTime,
  warned_at: nullable(DateTime),
  deletion_scheduled_at: t.String({
    format: 'date-time',
    description: 'When the account is (or would be) scheduled for deletion; erased after the grace period',
  }),
  action: oneOf(['warn', 'schedule_deletion', 'none'], {
    description: 'What the next worker pass does: warn, schedule the deletion, or nothing yet',
  }),
})

export const projectRetentionForV1 = (c: RetentionCandidate) => ({
  user_id: c.userId,
  last_active_at: toRfc3339(c.lastActiveAt),
  warned_at: toRfc3339(c.warnedAt),
  deletion_scheduled_at: toRfc3339(c.deletionScheduledAt),
  action: c.action,
})
