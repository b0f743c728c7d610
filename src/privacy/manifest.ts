import { fieldError } from '../errors'
import { findDataType, findPurpose, findRequiredReasonApi } from './apple-reference'

/** An app's privacy manifest, as the /api dialect saves and answers it (Apple identifiers). */
export interface PrivacyManifestConfig {
  tracking: boolean
  trackingDomains: string[]
  dataTypes: { type: string; linkedToUser: boolean; usedForTracking: boolean; purposes: string[] }[]
  accessedApiTypes: { category: string; reasons: string[] }[]
}

/** How one wizard answer became (or did not become) a manifest value. */
export interface WizardMapping {
  field: 'data_types' | 'purposes' | 'tracking'
  answer: string
  mappedTo: string | null
}

/** What a client sends: every field optional, values in any of the accepted spellings. */
export interface PrivacyManifestInput {
  tracking?: boolean
  trackingDomains?: string[]
  dataTypes?: { type: string; linkedToUser?: boolean; usedForTracking?: boolean; purposes?: string[] }[]
  accessedApiTypes?: { category: string; reasons: string[] }[]
}

/**
 * Checks every value against Apple's allowlists and writes it as Apple's identifier (a type may be
 * sent as `NSPrivacyCollectedDataTypeEmailAddress`, `EmailAddress` or `Email Address`; a reason
 * code as `CA92.1`). The first value that is not Apple's is a 400 naming it and where it is.
 */
export function normaliseManifest(input: PrivacyManifestInput): PrivacyManifestConfig {
  const dataTypes = (input.dataTypes ?? []).map((entry, i) => {
    const type = findDataType(entry.type)
    if (!type)
      throw fieldError(
        ['dataTypes', i, 'type'],
        `"${entry.type}" is not one of Apple's collected data types (GET /api/privacy-manifest/reference)`,
      )
    const purposes = (entry.purposes ?? []).map((value, j) => {
      const found = findPurpose(value)
      if (!found)
        throw fieldError(
          ['dataTypes', i, 'purposes', j],
          `"${value}" is not one of Apple's collection purposes (GET /api/privacy-manifest/reference)`,
        )
      return found.id
    })
    return {
      type: type.id,
      linkedToUser: entry.linkedToUser ?? false,
      usedForTracking: entry.usedForTracking ?? false,
      purposes: [...new Set(purposes)],
    }
  })
  const accessedApiTypes = (input.accessedApiTypes ?? []).map((entry, i) => {
    const api = findRequiredReasonApi(entry.category)
    if (!api)
      throw fieldError(
        ['accessedApiTypes', i, 'category'],
        `"${entry.category}" is not one of Apple's Required Reason API categories`,
      )
    const reasons = entry.reasons.map((code, j) => {
      const reason = api.reasons.find((r) => r.code.toLowerCase() === code.trim().toLowerCase())
      if (!reason)
        throw fieldError(
          ['accessedApiTypes', i, 'reasons', j],
          `"${code}" is not an approved reason for ${api.id} (one of ${api.reasons.map((r) => r.code).join(', ')})`,
        )
      return reason.code
    })
    return { category: api.id, reasons: [...new Set(reasons)] }
  })
  return {
    tracking: input.tracking ?? false,
    trackingDomains: [...new Set(input.trackingDomains ?? [])],
    dataTypes,
    accessedApiTypes,
  }
}

/**
 * A saved config as stored — read leniently: a value saved before the allowlists existed (free
 * text) is kept as it was rather than failing the read.
 */
export function readSavedManifest(data: Record<string, unknown>): PrivacyManifestConfig {
  const input = data as PrivacyManifestInput
  const lenient = (value: string, find: (v: string) => { id: string } | undefined) => find(value)?.id ?? value
  return {
    tracking: input.tracking === true,
    trackingDomains: input.trackingDomains ?? [],
    dataTypes: (input.dataTypes ?? []).map((d) => ({
      type: lenient(d.type, findDataType),
      linkedToUser: d.linkedToUser === true,
      usedForTracking: d.usedForTracking === true,
      purposes: (d.purposes ?? []).map((p) => lenient(p, findPurpose)),
    })),
    accessedApiTypes: (input.accessedApiTypes ?? []).map((a) => ({
      category: lenient(a.category, findRequiredReasonApi),
      reasons: a.reasons ?? [],
    })),
  }
}

/**
 * The wizard's free-text answers → Apple's data types: the first keyword found in an answer
 * decides. Order matters where words overlap ("email" before "address", "coarse" before
 * "location"). An answer that matches nothing becomes `OtherDataTypes`.
 */
const DATA_TYPE_KEYWORDS: [RegExp, string][] = [
  [/e-?mail/, 'EmailAddress'],
  [/phone|mobile number|sms/, 'PhoneNumber'],
  [/message|chat|text/, 'EmailsOrTextMessages'],
  [/\bname\b|full name|first name|last name/, 'Name'],
  [/address|postal|shipping/, 'PhysicalAddress'],
  [/coarse|approximate|city|country|region|\bip\b/, 'CoarseLocation'],
  [/location|gps|geo/, 'PreciseLocation'],
  [/contact/, 'Contacts'],
  [/photo|video|camera|image/, 'PhotosorVideos'],
  [/audio|voice|microphone|recording/, 'AudioData'],
  [/health|medical/, 'Health'],
  [/fitness|exercise|workout|steps/, 'Fitness'],
  [/payment|card|bank|billing/, 'PaymentInfo'],
  [/credit/, 'CreditInfo'],
  [/financ|income|salary/, 'OtherFinancialInfo'],
  [/purchase|order/, 'PurchaseHistory'],
  [/brows|web history/, 'BrowsingHistory'],
  [/search/, 'SearchHistory'],
  [/device|idfa|advertising id/, 'DeviceID'],
  [/user id|account|username|handle|identifier/, 'UserID'],
  [/crash/, 'CrashData'],
  [/performance|latency|energy/, 'PerformanceData'],
  [/diagnostic|log/, 'OtherDiagnosticData'],
  [/\bads?\b|advertis/, 'AdvertisingData'],
  [/usage|interaction|analytics|activity|click|tap/, 'ProductInteraction'],
  [/support|feedback/, 'CustomerSupport'],
  [/game/, 'GameplayContent'],
  [/biometric|religio|politic|ethnic|sexual/, 'SensitiveInfo'],
  [/content|post|comment|review/, 'OtherUserContent'],
]

const PURPOSE_KEYWORDS: [RegExp, string][] = [
  [/third.?party|ad network|\bads?\b|advertis/, 'ThirdPartyAdvertising'],
  [/marketing|newsletter|promot/, 'DeveloperAdvertising'],
  [/analytic|statistic|measure|improve/, 'Analytics'],
  [/personali|recommend|suggest/, 'ProductPersonalization'],
  [/function|feature|account|service|authenticat|security|fraud|support|operat/, 'AppFunctionality'],
]

const matchKeyword = (answer: string, table: [RegExp, string][]) =>
  table.find(([pattern]) => pattern.test(answer.toLowerCase()))?.[1] ?? null

type Wizard = Record<string, any> | null

/**
 * A manifest derived from the privacy-policy wizard's answers, with the mapping it used: each data
 * type answered becomes Apple's type (linked to the user, used for tracking only when the wizard
 * says the app tracks), each with every purpose answered (App Functionality when none). Required
 * Reason APIs are not something the wizard asks about: they start empty.
 */
export function manifestFromWizard(policy: Wizard): {
  config: PrivacyManifestConfig
  mapping: WizardMapping[]
} {
  const mapping: WizardMapping[] = []
  const collection = policy?.['data-collection'] ?? {}
  const trackingAnswers: string[] = policy?.['children-tracking']?.uses_tracking ?? []
  const tracking = policy?.['children-tracking']?.children_or_tracking === 'yes' && trackingAnswers.length > 0
  for (const answer of trackingAnswers)
    mapping.push({ field: 'tracking', answer, mappedTo: 'NSPrivacyTracking' })

  const purposeIds: string[] = []
  for (const answer of (collection.purposes ?? []) as string[]) {
    const short = matchKeyword(answer, PURPOSE_KEYWORDS) ?? 'Other'
    const id = findPurpose(short)?.id as string
    mapping.push({ field: 'purposes', answer, mappedTo: id })
    if (!purposeIds.includes(id)) purposeIds.push(id)
  }
  if (purposeIds.length === 0) purposeIds.push(findPurpose('AppFunctionality')?.id as string)

  const dataTypes: PrivacyManifestConfig['dataTypes'] = []
  if (collection.collects_data !== 'no')
    for (const answer of (collection.data_types ?? []) as string[]) {
      const short = matchKeyword(answer, DATA_TYPE_KEYWORDS) ?? 'OtherDataTypes'
      const id = findDataType(short)?.id as string
      mapping.push({ field: 'data_types', answer, mappedTo: id })
      if (dataTypes.some((d) => d.type === id)) continue
      dataTypes.push({
        type: id,
        linkedToUser: true,
        usedForTracking: tracking && purposeIds.some((p) => p.endsWith('Advertising')),
        purposes: [...purposeIds],
      })
    }
  return { config: { tracking, trackingDomains: [], dataTypes, accessedApiTypes: [] }, mapping }
}

/**
 * What the hosted privacy-labels page and the .xcprivacy file show: the saved config, else the
 * wizard's starter, else nothing. One function for both, so they never disagree.
 */
export function effectivePrivacyManifest(
  saved: Record<string, unknown> | null | undefined,
  policy: Record<string, unknown> | null | undefined,
): PrivacyManifestConfig | null {
  if (saved) return readSavedManifest(saved)
  // Only a wizard that answered the data-collection section says anything about labels.
  if (policy?.['data-collection']) return manifestFromWizard(policy as Record<string, any>).config
  return null
}

/** The config as Apple's property list (the `PrivacyInfo.xcprivacy` file Xcode reads). */
export function renderPrivacyInfoPlist(config: PrivacyManifestConfig): string {
  const document = {
    NSPrivacyTracking: config.tracking,
    NSPrivacyTrackingDomains: config.trackingDomains,
    NSPrivacyCollectedDataTypes: config.dataTypes.map((d) => ({
      NSPrivacyCollectedDataType: d.type,
      NSPrivacyCollectedDataTypeLinked: d.linkedToUser,
      NSPrivacyCollectedDataTypeTracking: d.usedForTracking,
      NSPrivacyCollectedDataTypePurposes: d.purposes,
    })),
    NSPrivacyAccessedAPITypes: config.accessedApiTypes.map((a) => ({
      NSPrivacyAccessedAPIType: a.category,
      NSPrivacyAccessedAPITypeReasons: a.reasons,
    })),
  }
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
${plistValue(document, '')}
</plist>
`
}

type PlistValue = boolean | string | PlistValue[] | { [key: string]: PlistValue }

function plistValue(value: PlistValue, indent: string): string {
  const inner = `${indent}\t`
  if (typeof value === 'boolean') return `${indent}<${value}/>`
  if (typeof value === 'string') return `${indent}<string>${escapeXml(value)}</string>`
  if (Array.isArray(value))
    return value.length === 0
      ? `${indent}<array/>`
      : `${indent}<array>\n${value.map((v) => plistValue(v, inner)).join('\n')}\n${indent}</array>`
  const entries = Object.entries(value)
  return `${indent}<dict>\n${entries
    .map(([key, v]) => `${inner}<key>${escapeXml(key)}</key>\n${plistValue(v, inner)}`)
    .join('\n')}\n${indent}</dict>`
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
