import { t } from 'elysia'
import type { AccountOverview, DeployedAppSummary } from '../services/account-overview'
import { isUsable, publicSubscriptionStatus } from '../services/account-overview'
import type { ApiKeyRow, MintedKey } from '../services/keys'
import { Millis, nullable } from './schema-helpers'

// Row → /api JSON: camelCase, epoch milliseconds (Stripe periods in epoch seconds).

const PublicStatus = t.Union([
  t.Literal('none'),
  t.Literal('active'),
  t.Literal('past_due'),
  t.Literal('canceled'),
])
const PlanType = t.Union([t.Literal('monthly'), t.Literal('yearly')])
const EpochSeconds = t.Integer({ minimum: 0, examples: [1767225600] })

export const ApiStatus = t.Object({
  subscription: PublicStatus,
  planType: nullable(PlanType),
  appCount: t.Integer({ minimum: 0 }),
  hasPaymentMethod: t.Boolean(),
  hasApps: t.Boolean(),
})

export function projectStatusForApi(o: AccountOverview) {
  return {
    subscription: publicSubscriptionStatus(o.subscription?.status),
    planType: o.subscription?.planType ?? null,
    appCount: o.appCount,
    hasPaymentMethod: o.user.paymentMethod !== null,
    hasApps: o.appCount > 0,
  }
}

const PaymentMethod = t.Object({
  id: t.String(),
  brand: t.String(),
  last4: t.String(),
  expMonth: t.Integer(),
  expYear: t.Integer(),
})

export const ApiAccount = t.Object({
  profile: t.Object({
    email: t.String(),
    displayName: nullable(t.String()),
    photoURL: nullable(t.String()),
    memberSince: Millis,
  }),
  stats: t.Object({
    appCount: t.Integer({ minimum: 0 }),
    subscribedSites: t.Integer({ minimum: 0 }),
    activeSubscriptions: t.Integer({ minimum: 0 }),
  }),
  paymentMethod: nullable(PaymentMethod),
  subscription: nullable(
    t.Object({
      id: t.String(),
      status: PublicStatus,
      planType: PlanType,
      quantity: t.Integer(),
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
