import { and, eq } from 'drizzle-orm'
import { one } from '../../db/query'
import { readTransaction, type Store, type Tx } from '../../db/store'
import { appPages, policies } from '../../db/tables'
import type { Clock } from '../lib/clock'
import {
  manifestFromWizard,
  normaliseManifest,
  type PrivacyManifestConfig,
  type PrivacyManifestInput,
  readSavedManifest,
  type WizardMapping,
} from '../privacy/manifest'
import { ownedApp } from './apps'
import { savePage } from './pages'

export interface PrivacyManifestView {
  config: PrivacyManifestConfig
  /** `saved`: what the client saved; `wizard`: derived from the policy wizard (nothing saved yet). */
  source: 'saved' | 'wizard'
  updatedAt: number | null
  /** How the wizard's answers were mapped (empty for a saved config). */
  mapping: WizardMapping[]
}

async function wizardAnswers(tx: Tx, appId: string): Promise<Record<string, unknown> | null> {
  return (
    (await one(tx.select({ data: policies.data }).from(policies).where(eq(policies.appId, appId))))?.data ??
    null
  )
}

async function savedManifest(tx: Tx, appId: string) {
  return await one(
    tx
      .select()
      .from(appPages)
      .where(and(eq(appPages.appId, appId), eq(appPages.kind, 'privacy_manifest'))),
  )
}

/** The saved config, or — before the first save — a starter derived from the wizard (never 404). */
export function privacyManifestOf(store: Store, userId: string, appId: string): Promise<PrivacyManifestView> {
  return readTransaction(store, async (tx) => {
    await ownedApp(tx, userId, appId)
    const saved = await savedManifest(tx, appId)
    if (saved)
      return {
        config: readSavedManifest(saved.data),
        source: 'saved',
        updatedAt: saved.updatedAt,
        mapping: [],
      }
    return fromWizard(tx, appId)
  })
}

/** A config freshly derived from the current wizard answers; saves nothing. */
export function derivedFromWizard(store: Store, userId: string, appId: string): Promise<PrivacyManifestView> {
  return readTransaction(store, async (tx) => {
    await ownedApp(tx, userId, appId)
    return fromWizard(tx, appId)
  })
}

async function fromWizard(tx: Tx, appId: string): Promise<PrivacyManifestView> {
  const { config, mapping } = manifestFromWizard(
    (await wizardAnswers(tx, appId)) as Record<string, any> | null,
  )
  return { config, source: 'wizard', updatedAt: null, mapping }
}

/** Saves a config after checking every value against Apple's allowlists (400 naming the first that is not). */
export async function savePrivacyManifest(
  store: Store,
  clock: Clock,
  userId: string,
  appId: string,
  input: PrivacyManifestInput,
): Promise<PrivacyManifestView> {
  const config = normaliseManifest(input)
  const saved = await savePage(store, clock, userId, appId, 'privacy_manifest', { ...config })
  return { config, source: 'saved', updatedAt: saved.updatedAt, mapping: [] }
}
