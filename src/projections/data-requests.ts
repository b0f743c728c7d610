import { t } from 'elysia'
import { toRfc3339 } from '../lib/time'
import { type DataRequestRow, isOverdue, REQUEST_STATUSES, REQUEST_TYPES } from '../services/data-requests'
import { DateTime, Int, nullable, oneOf } from './schema-helpers'

export const RequestTypeSchema = oneOf(REQUEST_TYPES as [string, ...string[]])

export const V1DataRequest = t.Object({
  id: t.String(),
  type: RequestTypeSchema,
  status: oneOf(REQUEST_STATUSES),
  user_id: nullable(
    t.String({ description: 'The account; null for an email-only request, and once the account is erased' }),
  ),
  user_hash: nullable(t.String({ description: 'The account’s pseudonym: what remains once it is erased' })),
  email: nullable(
    t.String({
      description: 'An email-only request’s address, kept until REQUEST_RETENTION_DAYS after it closes',
    }),
  ),
  channel: nullable(t.String()),
  note: nullable(t.String()),
  received_at: DateTime,
  due_at: t.String({
    format: 'date-time',
    description: 'Received + 1 calendar month (+ the extension), end of that day UTC, plus the days paused',
  }),
  paused_days: Int({ description: 'Days the clock stood still while identity was being verified' }),
  paused_since: nullable(DateTime),
  overdue: t.Boolean(),
  extension: nullable(t.Object({ months: Int(), reason: nullable(t.String()) })),
  closed_at: nullable(DateTime),
  outcome_reason: nullable(t.String()),
  export_id: nullable(t.String()),
  erasure_id: nullable(t.String()),
  certificate_url: nullable(t.String({ description: 'The certificate of the erasure that answered it' })),
  created_at: DateTime,
  updated_at: DateTime,
})

export const projectRequestForV1 = (r: DataRequestRow, now: number) => ({
  id: r.id,
  type: r.type,
  status: r.status,
  user_id: r.userId,
  user_hash: r.userHash,
  email: r.email,
  channel: r.channel,
  note: r.note,
  received_at: toRfc3339(r.receivedAt),
  due_at: toRfc3339(r.dueAt),
  paused_days: r.pausedDays,
  paused_since: toRfc3339(r.pausedSince),
  overdue: isOverdue(r, now),
  extension: r.extendedMonths > 0 ? { months: r.extendedMonths, reason: r.extensionReason } : null,
  closed_at: toRfc3339(r.closedAt),
  outcome_reason: r.outcomeReason,
  export_id: r.exportId,
  erasure_id: r.erasureId,
  certificate_url:
    r.erasureId && r.status === 'fulfilled' ? `/v1/admin/deletions/${r.erasureId}/certificate` : null,
  created_at: toRfc3339(r.createdAt),
  updated_at: toRfc3339(r.updatedAt),
})
