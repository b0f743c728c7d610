import { and, eq } from 'drizzle-orm'
import { readTransaction, type Store, type Tx } from '../../db/client'
import { appPages, policies } from '../../db/schema'
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

function wizardAnswers(tx: Tx, appId: string): Record<string, unknown> | null {
  return (
    tx.select({ data: policies.data }).from(policies).where(eq(policies.appId, appId)).get()?.data ?? null
  )
}

function savedManifest(tx: Tx, appId: string) {
  return tx
    .select()
    .from(appPages)
    .where(and(eq(appPages.appId, appId), eq(appPages.kind, 'privacy_manifest')))
    .get()
}

/** The saved config, or — before the first save — a starter derived from the wizard (never 404). */
export function privacyManifestOf(store: Store, userId: string, appId: string): Promise<PrivacyManifestView> {
  return readTransaction(store, (tx) => {
    ownedApp(tx, userId, appId)
    const saved = savedManifest(tx, appId)
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
  return readTransaction(store, (tx) => {
    ownedApp(tx, userId, appId)
    return fromWizard(tx, appId)
  })
}

function fromWizard(tx: Tx, appId: string): PrivacyManifestView {
  const { config, mapping } = manifestFromWizard(wizardAnswers(tx, appId) as Record<string, any> | null)
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
