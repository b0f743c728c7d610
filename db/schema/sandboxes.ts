import { sql } from 'drizzle-orm'
import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { teams, users } from './accounts'

export type SandboxStatus = 'creating' | 'running' | 'paused' | 'destroyed' | 'error'
export type TimeoutAction = 'destroy' | 'hibernate'

export const sandboxes = sqliteTable(
  'sandboxes',
  {
    id: text('id').primaryKey(),
    teamId: text('team_id')
      .notNull()
      .references(() => teams.id),
    userId: text('user_id').references(() => users.id),
    template: text('template').notNull(),
    status: text('status').$type<SandboxStatus>().notNull(),
    vcpus: integer('vcpus').notNull(),
    memoryMb: integer('memory_mb').notNull(),
    diskMb: integer('disk_mb'),
    metadata: text('metadata', { mode: 'json' }).$type<Record<string, unknown>>(),
    timeoutMs: integer('timeout_ms'),
    timeoutAction: text('timeout_action').$type<TimeoutAction>().notNull().default('destroy'),
    /** Absolute deadline derived from `timeout_ms`; what the sweeper scans. */
    timeoutAt: integer('timeout_at'),
    startedAt: integer('started_at'),
    destroyedAt: integer('destroyed_at'),
    /** Internal: run time up to this instant has been charged as GB-hours. */
    chargedUntil: integer('charged_until'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    index('sandboxes_team_created_idx').on(t.teamId, t.createdAt, t.id),
    // Serves the state filters in list order and the active-sandbox count of every create.
    index('sandboxes_team_status_created_idx').on(t.teamId, t.status, t.createdAt, t.id),
    // The sweeper's index. Partial: most sandboxes have no timeout, and each entry is a WAL page
    // written on every create and destroy (one of ~14 per idempotent create, measured).
    index('sandboxes_timeout_idx').on(t.status, t.timeoutAt).where(sql`timeout_at IS NOT NULL`),
    index('sandboxes_user_idx').on(t.userId),
  ],
)

/**
 * Running totals of a team's sandboxes, so a create checks its quotas without scanning the team's
 * sandboxes (services/sandbox-totals.ts). Derived data: recomputed from `sandboxes` whenever
 * `settled_day` is not today — at the first create of each UTC day, and after any change it could
 * not apply exactly — so it can never drift for longer than that.
 */
export const teamSandboxTotals = sqliteTable('team_sandbox_totals', {
  teamId: text('team_id')
    .primaryKey()
    .references(() => teams.id),
  /** Sandboxes holding capacity (creating, running, paused). */
  active: integer('active').notNull(),
  /** Memory of the running sandboxes, MiB. */
  runningMemoryMb: integer('running_memory_mb').notNull(),
  /** Σ memory × (charged_until − start of `settled_day`) over running sandboxes, MiB·ms. */
  runningChargedMibMs: real('running_charged_mib_ms').notNull(),
  /** The UTC day the totals are exact for; null or another day: recompute before use. */
  settledDay: text('settled_day'),
})
