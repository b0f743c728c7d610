import { ownedTable } from '../../db/ownership'

/** The owned tables both export projections read, by the names they use. */
export const EXPORTED_TABLES = {
  users: ownedTable('users'),
  teams: ownedTable('teams'),
  apps: ownedTable('apps'),
  sites: ownedTable('sites'),
  policies: ownedTable('policies'),
  appPages: ownedTable('app_pages'),
  policyVersions: ownedTable('policy_versions'),
  deploys: ownedTable('deploys'),
  subscriptions: ownedTable('subscriptions'),
  apiKeys: ownedTable('api_keys'),
  quotaUsage: ownedTable('quota_usage'),
  sandboxes: ownedTable('sandboxes'),
  legalHolds: ownedTable('legal_holds'),
}
