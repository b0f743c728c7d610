import { t } from 'elysia'
import { nullable, oneOf } from '../../projections/schema-helpers'

// Request schemas of the /api page routes: every limit and format of docs/spec/api-orbit.md ("Pages").
// Optional text fields also accept "" and null (forms send empty fields), never other types.

const text = (max: number) => t.String({ maxLength: max, error: `must be text of at most ${max} characters` })
const optionalText = (max: number) => t.Optional(nullable(text(max)))
const EMAIL = t.String({ format: 'email', maxLength: 254, error: 'must be an email address' })
const optionalEmail = t.Optional(t.Union([t.Literal(''), EMAIL, t.Null()]))
const HTTP_URL = t.String({ maxLength: 2048, pattern: '^https?://[^\\s]+$', error: 'must be an http(s) URL' })
const optionalUrl = t.Optional(t.Union([t.Literal(''), HTTP_URL, t.Null()]))
const stringList = (items: number, max: number) =>
  t.Optional(
    t.Array(text(max), {
      maxItems: items,
      error: `must be a list of at most ${items} texts of at most ${max} characters`,
    }),
  )
const yesNo = t.Optional(
  t.Union([t.Literal('yes'), t.Literal('no'), t.Literal(''), t.Boolean(), t.Null()], {
    error: 'must be "yes" or "no"',
  }),
)

/** Privacy-policy wizard answers: five sections and `_seenSections`, each optional. */
export const PolicyBody = t.Object({
  'app-info': t.Optional(
    t.Object({ app_name: optionalText(200), developer_name: optionalText(200), email: optionalEmail }),
  ),
  'data-collection': t.Optional(
    t.Object({
      collects_data: t.Optional(
        t.Union([t.Literal('yes'), t.Literal('no'), t.Literal(''), t.Null()], {
          error: 'must be "yes" or "no"',
        }),
      ),
      data_types: stringList(50, 200),
      purposes: stringList(50, 200),
    }),
  ),
  'third-party': t.Optional(
    t.Object({ shares_data: stringList(50, 200), third_party_list: optionalText(5000) }),
  ),
  'data-retention': t.Optional(t.Object({ retains_data: yesNo, retention_period: optionalText(500) })),
  'children-tracking': t.Optional(
    t.Object({
      children_or_tracking: yesNo,
      collects_from_children: stringList(50, 200),
      uses_tracking: stringList(50, 200),
    }),
  ),
  _seenSections: t.Optional(
    t.Record(t.String({ maxLength: 50 }), t.Union([t.Boolean(), t.Number(), t.String({ maxLength: 50 })]), {
      maxProperties: 20,
      error: 'must map section names to flags',
    }),
  ),
})

const Address = t.Object({
  street: optionalText(200),
  city: optionalText(100),
  state: optionalText(100),
  zip: optionalText(20),
  country: optionalText(100),
})
const HHMM = t.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', error: 'must be a time HH:MM' })
const Day = oneOf(
  [
    'mon',
    'tue',
    'wed',
    'thu',
    'fri',
    'sat',
    'sun',
    'monday',
    'tuesday',
    'wednesday',
    'thursday',
    'friday',
    'saturday',
    'sunday',
  ],
  {
    error: 'must be a day of the week',
  },
)
const Hours = t.Object({
  from: HHMM,
  to: HHMM,
  timezone: t.String({
    minLength: 1,
    maxLength: 64,
    pattern: '^[A-Za-z0-9_+/-]+$',
    error: 'must be a time zone such as Europe/Paris',
  }),
  days: t.Array(Day, { minItems: 1, maxItems: 7, error: 'must list 1–7 days' }),
})

export const SupportPageBody = t.Object({
  contactEmail: EMAIL,
  contactPhone: t.Optional(
    t.Union([
      t.Literal(''),
      t.String({ maxLength: 40, pattern: '^[+0-9 ().-]{3,40}$', error: 'must be a phone number' }),
      t.Null(),
    ]),
  ),
  contactUrl: optionalUrl,
  contactAddress: t.Optional(
    t.Union([text(500), Address, t.Null()], { error: 'must be text or {street, city, state, zip, country}' }),
  ),
  supportHours: t.Optional(
    t.Union([text(200), Hours, t.Null()], { error: 'must be text or {from, to, timezone, days}' }),
  ),
  faqItems: t.Optional(
    t.Array(
      t.Object({
        question: t.String({ minLength: 1, maxLength: 500, error: 'must be 1–500 characters' }),
        answer: t.String({ minLength: 1, maxLength: 5000, error: 'must be 1–5000 characters' }),
      }),
      {
        maxItems: 20,
        error: 'must have at most 20 questions',
      },
    ),
  ),
  additionalInfo: optionalText(5000),
})

export const DeletionPageBody = t.Object({
  supportsAccounts: t.Boolean({ error: 'must be true or false' }),
  deletionMethods: stringList(10, 100),
  deletionEmail: optionalEmail,
  deletionUrl: optionalUrl,
  deletionSteps: t.Optional(
    t.Array(text(500), { maxItems: 10, error: 'must have at most 10 steps of at most 500 characters' }),
  ),
  deletionTimeline: optionalText(200),
  dataRetainedAfterDeletion: optionalText(2000),
  additionalInfo: optionalText(5000),
})

export const TestflightPageBody = t.Object({
  enabled: t.Optional(t.Boolean({ error: 'must be true or false' })),
  testFlightUrl: t.Optional(
    t.Union([
      t.Literal(''),
      t.String({
        maxLength: 200,
        pattern: '^https://testflight\\.apple\\.com/join/[A-Za-z0-9]{1,32}$',
        error: 'must be a TestFlight invitation link https://testflight.apple.com/join/<code>',
      }),
      t.Null(),
    ]),
  ),
  betaDescription: optionalText(4000),
  requirements: optionalText(2000),
  feedbackEmail: optionalEmail,
})

/** `TEAMID.bundle.id`: a 10-character Apple team id, then the bundle id. */
const AppleAppId = t.String({
  maxLength: 255,
  pattern: '^[A-Z0-9]{10}\\.[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*$',
  error: 'must be an app id TEAMID.bundle.id',
})
const appIds = (min: number, max: number) =>
  t.Array(AppleAppId, {
    minItems: min,
    maxItems: max,
    error: `must list ${min}–${max} app ids TEAMID.bundle.id`,
  })

export const AasaBody = t.Object({
  universalLinks: t.Optional(
    nullable(
      t.Object({
        appIDs: appIds(1, 10),
        paths: t.Array(
          t.Object({
            pattern: t.String({
              minLength: 1,
              maxLength: 500,
              error: 'must be a path pattern of at most 500 characters',
            }),
            exclude: t.Optional(t.Boolean()),
            comment: optionalText(200),
          }),
          { maxItems: 50, error: 'must have at most 50 paths' },
        ),
      }),
    ),
  ),
  appClips: t.Optional(nullable(t.Object({ appIDs: appIds(1, 5) }))),
  webCredentials: t.Optional(nullable(t.Object({ appIDs: appIds(1, 10) }))),
  activityContinuation: t.Optional(nullable(t.Object({ appIDs: appIds(1, 10) }))),
})

/**
 * The iOS privacy manifest (the data model's `privacy_manifest` page), behind both the hosted
 * privacy-labels page and PrivacyInfo.xcprivacy. Types, purposes, categories and reasons are
 * checked against Apple's allowlists by the service (src/privacy/), which names a value it refuses.
 */
export const PrivacyManifestBody = t.Object({
  tracking: t.Optional(t.Boolean()),
  trackingDomains: t.Optional(
    t.Array(t.String({ maxLength: 253, format: 'hostname', error: 'must be a hostname' }), {
      maxItems: 50,
      error: 'must list at most 50 domains',
    }),
  ),
  dataTypes: t.Optional(
    t.Array(
      t.Object({
        type: t.String({ minLength: 1, maxLength: 100, error: 'must be 1–100 characters' }),
        linkedToUser: t.Optional(t.Boolean()),
        usedForTracking: t.Optional(t.Boolean()),
        purposes: stringList(20, 100),
      }),
      { maxItems: 50, error: 'must list at most 50 data types' },
    ),
  ),
  accessedApiTypes: t.Optional(
    t.Array(
      t.Object({
        category: t.String({ minLength: 1, maxLength: 100, error: 'must be 1–100 characters' }),
        reasons: t.Array(t.String({ minLength: 1, maxLength: 20, error: 'must be 1–20 characters' }), {
          minItems: 1,
          maxItems: 10,
          error: 'must list 1–10 reason codes',
        }),
      }),
      { maxItems: 10, error: 'must list at most 10 Required Reason API categories' },
    ),
  ),
})

export const SmartBannerBody = t.Object({
  appStoreId: t.String({ pattern: '^\\d{1,20}$', error: 'must be the App Store id: 1–20 digits' }),
  affiliateData: optionalText(200),
  appArgument: optionalText(500),
  appClipBundleId: optionalText(200),
  appClipDisplay: t.Optional(
    nullable(t.Union([t.Literal('banner'), t.Literal('card')], { error: 'must be "banner" or "card"' })),
  ),
})
