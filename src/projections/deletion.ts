import { t } from 'elysia'
import { toRfc3339 } from '../lib/time'
import type { DeletionPreview, DeletionRow } from '../services/deletion'
import type { ProcessorRow } from '../services/erasure-processors'
import { DateTime, Int, nullable, oneOf } from './schema-helpers'
import { projectProcessorForV1, V1ErasureProcessor } from './webhooks'

const Counts = t.Record(t.String(), Int({ minimum: 0 }), { description: 'Rows per table' })

export const ApiDeletionPreview = t.Object({
  dryRun: t.Literal(true),
  counts: Counts,
  stripe: nullable(t.Object({ customerId: nullable(t.String()), subscriptions: t.Array(t.String()) })),
})

export const projectPreviewForApi = (p: DeletionPreview) => ({
  dryRun: true as const,
  counts: p.counts,
  stripe: p.stripe ? { customerId: p.stripe.customerId, subscriptions: p.stripe.subscriptions } : null,
})

export const V1DeletionPreview = t.Object({
  dry_run: t.Literal(true),
  counts: Counts,
  stripe: nullable(t.Object({ customer_id: nullable(t.String()), subscriptions: t.Array(t.String()) })),
})

export const projectPreviewForV1 = (p: DeletionPreview) => ({
  dry_run: true as const,
  counts: p.counts,
  stripe: p.stripe ? { customer_id: p.stripe.customerId, subscriptions: p.stripe.subscriptions } : null,
})

/** A deletion job or receipt (PII-free: the user appears only as a hash). */
export const V1DeletionReceipt = t.Object({
  id: t.String(),
  user_hash: t.String(),
  mode: oneOf(['immediate', 'scheduled', 'operator']),
  step: oneOf(['requested', 'billing_stopped', 'data_erased', 'done']),
  counts: t.Record(t.String(), Int()),
  stripe_actions: t.Array(t.String()),
  attempts: Int(),
  last_error: nullable(t.String()),
  next_attempt_at: nullable(DateTime),
  requested_at: DateTime,
  updated_at: DateTime,
  completed_at: nullable(DateTime),
  processors: t.Array(V1ErasureProcessor, {
    description:
      'The processors (webhook endpoints with processor: true) asked to erase the account, and what they answered',
  }),
})

export const projectReceiptForV1 = (d: DeletionRow, processors: ProcessorRow[] = []) => ({
  id: d.id,
  user_hash: d.userHash,
  mode: d.mode,
  step: d.step,
  counts: d.counts ?? {},
  stripe_actions: d.stripeActions ?? [],
  attempts: d.attempts,
  last_error: d.lastError,
  next_attempt_at: toRfc3339(d.nextAttemptAt),
  requested_at: toRfc3339(d.requestedAt),
  updated_at: toRfc3339(d.updatedAt),
  completed_at: toRfc3339(d.completedAt),
  processors: processors.map(projectProcessorForV1),
})
