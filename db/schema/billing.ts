import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { users } from './accounts'

export type PlanType = 'monthly' | 'yearly'

/** The local mirror of the account's one seat-based Stripe subscription. */
export const subscriptions = sqliteTable('subscriptions', {
  id: text('id').primaryKey(),
  userId: text('user_id')
    .notNull()
    .unique()
    .references(() => users.id),
  stripeSubscriptionId: text('stripe_subscription_id').notNull().unique(),
  status: text('status').notNull(),
  planType: text('plan_type').$type<PlanType>().notNull(),
  quantity: integer('quantity').notNull(),
  cancelAtPeriodEnd: integer('cancel_at_period_end', { mode: 'boolean' }).notNull().default(false),
  /** Epoch seconds, as Stripe gives it. */
  currentPeriodEnd: integer('current_period_end'),
  /** Internal: the cancellation was set by a /v1 soft delete (a restore undoes only that). */
  cancelSetByDeletion: integer('cancel_set_by_deletion', { mode: 'boolean' }).notNull().default(false),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
})

/** System data: webhook event ids already processed (dedupe). */
export const stripeEvents = sqliteTable('stripe_events', {
  id: text('id').primaryKey(),
  type: text('type').notNull(),
  receivedAt: integer('received_at').notNull(),
})
