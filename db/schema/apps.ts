import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { users } from './accounts'

export type PageKind = 'support' | 'deletion' | 'testflight' | 'aasa' | 'privacy_manifest'
export type DomainStatus = 'pending_dns' | 'pending_ssl' | 'active' | 'error'

export interface SmartBanner {
  appStoreId: string
  affiliateData?: string | null
  appArgument?: string | null
  appClipBundleId?: string | null
  appClipDisplay?: 'banner' | 'card' | null
}

export interface WellKnownFlags {
  appleDeveloperDomainAssociation: boolean
  appleDeveloperMerchantId: boolean
  appleWalletOrderType: boolean
}

export const apps = sqliteTable(
  'apps',
  {
    /** 20-character time-ordered push id. */
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    appName: text('app_name').notNull(),
    /** Globally unique: the unique index is what makes two concurrent claims impossible. */
    slug: text('slug').notNull().unique(),
    deployed: integer('deployed', { mode: 'boolean' }).notNull().default(false),
    deployedAt: integer('deployed_at'),
    /**
     * Holds a paid seat on the account's subscription: set by the deploy (or subscription start)
     * that added the seat, cleared when the seat is removed or the subscription ends. Quantity at
     * Stripe = the account's apps with a seat.
     */
    seat: integer('seat', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('apps_user_idx').on(t.userId, t.createdAt)],
)

export const sites = sqliteTable('sites', {
  appId: text('app_id')
    .primaryKey()
    .references(() => apps.id),
  description: text('description'),
  iconUrl: text('icon_url'),
  iconColor: text('icon_color'),
  customDomain: text('custom_domain').unique(),
  domainStatus: text('domain_status').$type<DomainStatus>(),
  domainDnsVerified: integer('domain_dns_verified', { mode: 'boolean' }).notNull().default(false),
  domainSslProvisioned: integer('domain_ssl_provisioned', { mode: 'boolean' }).notNull().default(false),
  domainError: text('domain_error'),
  smartBanner: text('smart_banner', { mode: 'json' }).$type<SmartBanner>(),
  wellKnownFiles: text('well_known_files', { mode: 'json' }).$type<WellKnownFlags>(),
  searchIndexing: integer('search_indexing', { mode: 'boolean' }).notNull().default(true),
  customHomepageHtml: text('custom_homepage_html'),
  /** Internal: the rendered version directory currently served, and the hash of its inputs. */
  publishedVersion: text('published_version'),
  publishedHash: text('published_hash'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
})

/** Privacy-policy wizard answers (five sections + `_seenSections`). */
export const policies = sqliteTable('policies', {
  appId: text('app_id')
    .primaryKey()
    .references(() => apps.id),
  data: text('data', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
})

export const appPages = sqliteTable(
  'app_pages',
  {
    appId: text('app_id')
      .notNull()
      .references(() => apps.id),
    kind: text('kind').$type<PageKind>().notNull(),
    data: text('data', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.appId, t.kind] })],
)

export const policyVersions = sqliteTable(
  'policy_versions',
  {
    id: text('id').primaryKey(),
    appId: text('app_id')
      .notNull()
      .references(() => apps.id),
    snapshotAt: integer('snapshot_at').notNull(),
    trigger: text('trigger').notNull(),
    appName: text('app_name').notNull(),
    policyData: text('policy_data', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
  },
  (t) => [index('policy_versions_app_idx').on(t.appId, t.snapshotAt)],
)

export const deploys = sqliteTable(
  'deploys',
  {
    id: text('id').primaryKey(),
    appId: text('app_id')
      .notNull()
      .references(() => apps.id),
    deployedAt: integer('deployed_at').notNull(),
    url: text('url').notNull(),
    pages: text('pages', { mode: 'json' }).$type<string[]>().notNull(),
  },
  (t) => [index('deploys_app_idx').on(t.appId, t.deployedAt)],
)
