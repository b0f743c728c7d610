import { t } from 'elysia'
import type { AppRow, SiteRow } from '../../db/rows'
import type {
  AccountOverview,
  AccountStatus,
  DeployedAppSummary,
  SubscriptionRow,
} from '../services/account-overview'
import { isUsable, publicSubscriptionStatus } from '../services/account-overview'
import type { ApiKeyRow, MintedKey } from '../services/keys'
import { NO_WELL_KNOWN_FILES } from '../services/sites'
import { Int, Millis, nullable } from './schema-helpers'

// Row → /api JSON: camelCase, epoch milliseconds (Stripe periods in epoch seconds).

export const PublicStatus = t.Union([
  t.Literal('none'),
  t.Literal('active'),
  t.Literal('past_due'),
  t.Literal('canceled'),
])
export const PlanType = t.Union([t.Literal('monthly'), t.Literal('yearly')])
export const EpochSeconds = Int({ minimum: 0, examples: [1767225600] })

export const ApiStatus = t.Object({
  subscription: PublicStatus,
  planType: nullable(PlanType),
  appCount: Int({ minimum: 0 }),
  hasPaymentMethod: t.Boolean(),
  hasApps: t.Boolean(),
})

export function projectStatusForApi(s: AccountStatus) {
  return {
    subscription: publicSubscriptionStatus(s.subscriptionStatus),
    planType: s.planType,
    appCount: s.appCount,
    hasPaymentMethod: s.hasPaymentMethod,
    hasApps: s.appCount > 0,
  }
}

const PaymentMethod = t.Object({
  id: t.String(),
  brand: t.String(),
  last4: t.String(),
  expMonth: Int(),
  expYear: Int(),
})

export const ApiAccount = t.Object({
  profile: t.Object({
    email: t.String(),
    displayName: nullable(t.String()),
    photoURL: nullable(t.String()),
    memberSince: Millis,
  }),
  stats: t.Object({
    appCount: Int({ minimum: 0 }),
    subscribedSites: Int({ minimum: 0 }),
    activeSubscriptions: Int({ minimum: 0 }),
  }),
  paymentMethod: nullable(PaymentMethod),
  subscription: nullable(
    t.Object({
      id: t.String(),
      status: PublicStatus,
      planType: PlanType,
      quantity: Int(),
      cancelAtPeriodEnd: t.Boolean(),
      currentPeriodEnd: nullable(EpochSeconds),
    }),
  ),
  subscriptions: t.Array(
    t.Object({
      appId: t.String(),
      appName: t.String(),
      iconUrl: nullable(t.String()),
      planType: PlanType,
      status: PublicStatus,
      cancelAtPeriodEnd: t.Boolean(),
      currentPeriodEnd: nullable(EpochSeconds),
    }),
  ),
})

/**
 * Both field generations: the current single `subscription` / `subscribedSites`, and the older
 * per-app `subscriptions[]` / `activeSubscriptions` (one entry per deployed app, i.e. per seat).
 */
export function projectAccountForApi(o: AccountOverview, deployed: DeployedAppSummary[]) {
  const sub = o.subscription
  const status = publicSubscriptionStatus(sub?.status)
  const perApp =
    sub && isUsable(sub.status)
      ? deployed.map((app) => ({
          appId: app.appId,
          appName: app.appName,
          iconUrl: app.iconUrl,
          planType: sub.planType,
          status,
          cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
          currentPeriodEnd: sub.currentPeriodEnd,
        }))
      : []
  return {
    profile: {
      email: o.user.email,
      displayName: o.user.displayName ?? o.user.name ?? null,
      photoURL: o.user.avatarUrl,
      memberSince: o.user.createdAt,
    },
    stats: { appCount: o.appCount, subscribedSites: perApp.length, activeSubscriptions: perApp.length },
    paymentMethod: o.user.paymentMethod ?? null,
    subscription: sub
      ? {
          id: sub.stripeSubscriptionId,
          status,
          planType: sub.planType,
          quantity: sub.quantity,
          cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
          currentPeriodEnd: sub.currentPeriodEnd,
        }
      : null,
    subscriptions: perApp,
  }
}

export const ApiKey = t.Object({
  keyId: t.String(),
  name: nullable(t.String()),
  prefix: t.String({ examples: ['ok_AbCd1234'] }),
  createdAt: Millis,
  lastUsedAt: nullable(Millis),
})

export const projectKeyForApi = (k: ApiKeyRow) => ({
  keyId: k.id,
  name: k.name,
  prefix: k.keyPrefix,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
})

export const ApiMintedKey = t.Object({
  keyId: t.String(),
  name: nullable(t.String()),
  prefix: t.String(),
  key: t.String({ examples: ['ok_AbCd1234_0123456789abcdefABCDEFgh'] }),
  createdAt: Millis,
})

export const projectMintedKeyForApi = ({ row, plaintext }: MintedKey) => ({
  keyId: row.id,
  name: row.name,
  prefix: row.keyPrefix,
  key: plaintext,
  createdAt: row.createdAt,
})

const WellKnownFiles = t.Object({
  appleDeveloperDomainAssociation: t.Boolean(),
  appleDeveloperMerchantId: t.Boolean(),
  appleWalletOrderType: t.Boolean(),
})

export const ApiSmartBanner = t.Object({
  appStoreId: t.String(),
  affiliateData: t.Optional(nullable(t.String())),
  appArgument: t.Optional(nullable(t.String())),
  appClipBundleId: t.Optional(nullable(t.String())),
  appClipDisplay: t.Optional(nullable(t.Union([t.Literal('banner'), t.Literal('card')]))),
})

export const ApiSite = t.Object({
  appName: t.String(),
  description: nullable(t.String()),
  slug: t.String(),
  iconUrl: nullable(t.String()),
  iconColor: nullable(t.String()),
  customDomain: nullable(t.String()),
  smartBanner: nullable(ApiSmartBanner),
  wellKnownFiles: WellKnownFiles,
  searchIndexing: t.Boolean(),
  customHomepageHtml: nullable(t.String()),
  subscriptionId: nullable(t.String()),
  subscriptionStatus: nullable(PublicStatus),
  cancelAtPeriodEnd: t.Boolean(),
  currentPeriodEnd: nullable(EpochSeconds),
  deployed: t.Boolean(),
  deployedAt: nullable(Millis),
  createdAt: Millis,
  updatedAt: Millis,
})

/**
 * The `<Site>` object (docs/spec/api-orbit.md). The subscription fields describe the account's subscription
 * as it covers this app: set when the app holds a seat or is deployed, under a subscription.
 */
export function projectSiteForApi(
  app: AppRow,
  site: SiteRow | null | undefined,
  subscription: SubscriptionRow | null,
) {
  const seat = (app.seat || app.deployed) && subscription ? subscription : null
  return {
    appName: app.appName,
    description: site?.description ?? null,
    slug: app.slug,
    iconUrl: site?.iconUrl ?? null,
    iconColor: site?.iconColor ?? null,
    customDomain: site?.customDomain ?? null,
    smartBanner: site?.smartBanner ?? null,
    wellKnownFiles: { ...NO_WELL_KNOWN_FILES, ...site?.wellKnownFiles },
    searchIndexing: site?.searchIndexing ?? true,
    customHomepageHtml: site?.customHomepageHtml ?? null,
    subscriptionId: seat?.stripeSubscriptionId ?? null,
    subscriptionStatus: seat ? publicSubscriptionStatus(seat.status) : null,
    cancelAtPeriodEnd: seat?.cancelAtPeriodEnd ?? false,
    currentPeriodEnd: seat?.currentPeriodEnd ?? null,
    deployed: app.deployed,
    deployedAt: app.deployedAt,
    createdAt: Math.min(app.createdAt, site?.createdAt ?? app.createdAt),
    updatedAt: Math.max(app.updatedAt, site?.updatedAt ?? app.updatedAt),
  }
}

export const ApiAppSummary = t.Object({
  appId: t.String({ examples: ['-NtestApp123'] }),
  appName: t.String(),
  slug: t.String(),
  createdAt: Millis,
  updatedAt: Millis,
})

export const projectAppSummaryForApi = (a: AppRow) => ({
  appId: a.id,
  appName: a.appName,
  slug: a.slug,
  createdAt: a.createdAt,
  updatedAt: a.updatedAt,
})

export const ApiCreatedApp = t.Object({ appId: t.String(), appName: t.String(), slug: t.String() })

export const ApiAppDetail = t.Object({ appId: t.String(), appName: t.String(), site: ApiSite })
