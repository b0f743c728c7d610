import { t } from 'elysia'
import { toRfc3339 } from '../lib/time'
import type { DeletionPreview, DeletionRow } from '../services/deletion'
import { verificationForCertificate } from '../services/erasure-certificates'
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

/** What the verification pass after an erasure found (services/erasure-verification.ts). */
export const V1Verification = t.Object(
  {
    checked_at: DateTime,
    clean: t.Boolean(),
    identifiers: Int({ description: 'How many ids and unique values of the account were looked for' }),
    identifier_source: oneOf(['gathered', 'user_id_only']),
    tables: t.Record(t.String(), Int(), { description: 'Rows found per owned table (0 when clean)' }),
    pages_scanned: Int(),
    bytes_scanned: Int(),
    byte_matches: Int(),
    storage_paths_checked: Int(),
    storage_matches: Int(),
  },
  { description: 'The independent check after the erasure: its findings become the certificate' },
)

/** A deletion job or receipt (PII-free: the user appears only as a hash). */
export const V1DeletionReceipt = t.Object({
  id: t.String(),
  user_hash: t.String(),
  mode: oneOf(['immediate', 'scheduled', 'operator']),
  step: oneOf(['requested', 'billing_stopped', 'data_erased', 'incomplete', 'blocked_legal_hold', 'done'], {
    description:
      '`incomplete`: the verification pass found data of the account left (retried with backoff); `blocked_legal_hold`: refused while the account is held, resumed when the hold is released',
  }),
  counts: t.Record(t.String(), Int()),
  stripe_actions: t.Array(t.String()),
  attempts: Int(),
  last_error: nullable(t.String()),
  next_attempt_at: nullable(DateTime),
  requested_at: DateTime,
  updated_at: DateTime,
  completed_at: nullable(DateTime),
  verification: nullable(V1Verification),
  certificate_url: nullable(
    t.String({
      description: 'Where operators fetch the signed erasure certificate, once the erasure is done',
    }),
  ),
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
  verification: d.verification ? verificationForCertificate(d.verification) : null,
  certificate_url: d.step === 'done' && d.verification ? `/v1/admin/deletions/${d.id}/certificate` : null,
  processors: processors.map(projectProcessorForV1),
})
