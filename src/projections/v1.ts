import { t } from 'elysia'
import type { SandboxRow } from '../../db/rows'
import { toRfc3339 } from '../lib/time'
import type { QuotaTierRow, QuotaUsageRow, TeamRow, UserRow } from '../services/accounts'
import type { ApiKeyRow, MintedKey } from '../services/keys'
import { DateTime, Int, JsonObject, nullable, oneOf } from './schema-helpers'

// Row → /v1 JSON: snake_case column names, RFC 3339 times, secret and internal columns hidden.

export const V1User = t.Object({
  id: t.String({ format: 'uuid' }),
  email: t.String(),
  tier: t.String(),
  quota_tier_id: t.String(),
  is_operator: t.Boolean(),
  created_at: DateTime,
  updated_at: DateTime,
  name: nullable(t.String()),
  display_name: nullable(t.String()),
  avatar_url: nullable(t.String()),
  email_verified_at: nullable(DateTime),
  soft_deleted_at: nullable(DateTime),
  delete_scheduled_at: nullable(DateTime),
  abuse_flags: JsonObject,
})

export const projectUserForV1 = (u: UserRow) => ({
  id: u.id,
  email: u.email,
  tier: u.tier,
  quota_tier_id: u.quotaTierId,
  is_operator: u.isOperator,
  created_at: toRfc3339(u.createdAt),
  updated_at: toRfc3339(u.updatedAt),
  name: u.name,
  display_name: u.displayName,
  avatar_url: u.avatarUrl,
  email_verified_at: toRfc3339(u.emailVerifiedAt),
  soft_deleted_at: toRfc3339(u.softDeletedAt),
  delete_scheduled_at: toRfc3339(u.deleteScheduledAt),
  abuse_flags: u.abuseFlags ?? {},
})

export const V1Team = t.Object({
  id: t.String({ format: 'uuid' }),
  name: t.String(),
  slug: t.String(),
  owner_user_id: t.String({ format: 'uuid' }),
  quota_tier_id: t.String(),
  created_at: DateTime,
  updated_at: DateTime,
  soft_deleted_at: nullable(DateTime),
})

export const projectTeamForV1 = (team: TeamRow) => ({
  id: team.id,
  name: team.name,
  slug: team.slug,
  owner_user_id: team.ownerUserId,
  quota_tier_id: team.quotaTierId,
  created_at: toRfc3339(team.createdAt),
  updated_at: toRfc3339(team.updatedAt),
  soft_deleted_at: toRfc3339(team.softDeletedAt),
})

export const V1QuotaTier = t.Object({
  id: t.String(),
  display_name: t.String(),
  max_concurrent_sandboxes: Int(),
  daily_sandbox_creates: Int(),
  daily_gb_hours: t.Number(),
})

export const projectTierForV1 = (tier: QuotaTierRow) => ({
  id: tier.id,
  display_name: tier.displayName,
  max_concurrent_sandboxes: tier.maxConcurrentSandboxes,
  daily_sandbox_creates: tier.dailySandboxCreates,
  daily_gb_hours: tier.dailyGbHours,
})

export const V1QuotaUsage = t.Object({
  team_id: t.String({ format: 'uuid' }),
  usage_date: t.String({ format: 'date', examples: ['2026-05-02'] }),
  sandbox_creates: Int(),
  gb_hours: t.Number(),
  updated_at: DateTime,
})

export const projectUsageForV1 = (u: QuotaUsageRow) => ({
  team_id: u.teamId,
  usage_date: u.usageDate,
  sandbox_creates: u.sandboxCreates,
  gb_hours: roundGbHours(u.gbHours),
  updated_at: toRfc3339(u.updatedAt),
})

/** GB-hours are accumulated as floats; six decimals hide the binary noise. */
export const roundGbHours = (n: number) => Math.round(n * 1e6) / 1e6

/** A key as `GET /v1/keys` lists it. */
export const V1Key = t.Object({
  id: t.String({ format: 'uuid' }),
  prefix: t.String(),
  is_active: t.Boolean(),
  name: nullable(t.String()),
  created_at: DateTime,
  last_used_at: nullable(DateTime),
  scope: nullable(t.String()),
  expires_at: nullable(DateTime),
  revoked_at: nullable(DateTime),
  rotation_parent_key_id: nullable(t.String()),
})

export const projectKeyForV1 = (k: ApiKeyRow) => ({
  id: k.id,
  prefix: k.keyPrefix,
  is_active: k.isActive && k.revokedAt === null,
  name: k.name,
  created_at: toRfc3339(k.createdAt),
  last_used_at: toRfc3339(k.lastUsedAt),
  scope: k.scope,
  expires_at: toRfc3339(k.expiresAt),
  revoked_at: toRfc3339(k.revokedAt),
  rotation_parent_key_id: k.rotationParentKeyId,
})

/** A key row as the admin detail and the export show it (api_keys columns, no hash). */
export const V1KeyRow = t.Object({
  id: t.String(),
  user_id: t.String(),
  team_id: nullable(t.String()),
  kind: t.String(),
  key_prefix: t.String(),
  name: nullable(t.String()),
  is_active: t.Boolean(),
  created_at: DateTime,
  last_used_at: nullable(DateTime),
  scope: nullable(t.String()),
  revoked_at: nullable(DateTime),
  expires_at: nullable(DateTime),
  rotation_parent_key_id: nullable(t.String()),
})

export const projectKeyRowForV1 = (k: ApiKeyRow) => ({
  id: k.id,
  user_id: k.userId,
  team_id: k.teamId,
  kind: k.kind,
  key_prefix: k.keyPrefix,
  name: k.name,
  is_active: k.isActive,
  created_at: toRfc3339(k.createdAt),
  last_used_at: toRfc3339(k.lastUsedAt),
  scope: k.scope,
  revoked_at: toRfc3339(k.revokedAt),
  expires_at: toRfc3339(k.expiresAt),
  rotation_parent_key_id: k.rotationParentKeyId,
})

/** The one-time answer to key creation and rotation: the only place `key` ever appears. */
export const V1MintedKey = t.Object({
  id: t.String({ format: 'uuid' }),
  key: t.String({ examples: ['ns_live_0123456789abcdef0123456789abcdef'] }),
  prefix: t.String(),
  name: nullable(t.String()),
  scope: nullable(t.String()),
  expires_at: nullable(DateTime),
})

export const projectMintedKeyForV1 = ({ row, plaintext }: MintedKey) => ({
  id: row.id,
  key: plaintext,
  prefix: row.keyPrefix,
  name: row.name,
  scope: row.scope,
  expires_at: toRfc3339(row.expiresAt),
})

export const V1Sandbox = t.Object({
  id: t.String({ examples: ['sb_4Jm2kQ9xTz8LwP0aB1cD'] }),
  status: oneOf(['creating', 'running', 'paused', 'destroyed', 'error']),
  template: t.String(),
  config: t.Object({ vcpus: Int(), memory_mb: Int(), disk_mb: nullable(Int()) }),
  metadata: nullable(JsonObject),
  created_at: DateTime,
  started_at: nullable(DateTime),
  timeout_ms: nullable(Int()),
  timeout_at: nullable(DateTime),
  timeout_action: oneOf(['destroy', 'hibernate']),
  destroyed_at: nullable(DateTime),
})

export const projectSandboxForV1 = (s: SandboxRow) => ({
  id: s.id,
  status: s.status,
  template: s.template,
  config: { vcpus: s.vcpus, memory_mb: s.memoryMb, disk_mb: s.diskMb },
  metadata: s.metadata ?? null,
  created_at: toRfc3339(s.createdAt),
  started_at: toRfc3339(s.startedAt),
  timeout_ms: s.timeoutMs,
  timeout_at: toRfc3339(s.timeoutAt),
  timeout_action: s.timeoutAction,
  destroyed_at: toRfc3339(s.destroyedAt),
})
