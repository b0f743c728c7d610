/**
 * Apple's allowlists for privacy manifests (PrivacyInfo.xcprivacy), as data: the collected data
 * types and purposes of "Describing data use in privacy manifests", and the Required Reason API
 * categories with their approved reason codes ("Describing use of required reason API"). The
 * descriptions are one-line summaries for people choosing a value; the identifiers are Apple's,
 * letter for letter (note `PhotosorVideos`, with a lower-case "or").
 */

export interface CollectedDataType {
  /** Apple's identifier, the value of `NSPrivacyCollectedDataType`. */
  id: string
  /** The App Store privacy-label name. */
  name: string
  /** The group it is listed under. */
  category: string
  description: string
}

const DATA_TYPE_PREFIX = 'NSPrivacyCollectedDataType'
const dataType = (short: string, name: string, category: string, description: string): CollectedDataType => ({
  id: `${DATA_TYPE_PREFIX}${short}`,
  name,
  category,
  description,
})

export const COLLECTED_DATA_TYPES: readonly CollectedDataType[] = [
  dataType('Name', 'Name', 'Contact Info', 'First or last name.'),
  dataType('EmailAddress', 'Email Address', 'Contact Info', 'Any email address, hashed ones included.'),
  dataType('PhoneNumber', 'Phone Number', 'Contact Info', 'Any phone number, hashed ones included.'),
  dataType('PhysicalAddress', 'Physical Address', 'Contact Info', 'A home, physical or mailing address.'),
  dataType(
    'OtherUserContactInfo',
    'Other User Contact Info',
    'Contact Info',
    'Any other way to contact the user outside the app.',
  ),
  dataType(
    'Health',
    'Health',
    'Health & Fitness',
    'Health and medical data (HealthKit, clinical records, user-provided health data).',
  ),
  dataType('Fitness', 'Fitness', 'Health & Fitness', 'Fitness and exercise data (Motion and Fitness API).'),
  dataType('PaymentInfo', 'Payment Info', 'Financial Info', 'Form of payment, card or bank account number.'),
  dataType('CreditInfo', 'Credit Info', 'Financial Info', 'Credit score and similar credit information.'),
  dataType(
    'OtherFinancialInfo',
    'Other Financial Info',
    'Financial Info',
    'Salary, income, assets, debts or other financial data.',
  ),
  dataType(
    'PreciseLocation',
    'Precise Location',
    'Location',
    'Location as precise as latitude and longitude with three or more decimal places.',
  ),
  dataType(
    'CoarseLocation',
    'Coarse Location',
    'Location',
    'Approximate location, such as from an IP address.',
  ),
  dataType(
    'SensitiveInfo',
    'Sensitive Info',
    'Sensitive Info',
    'Racial or ethnic data, sexual orientation, pregnancy, disability, religious or political beliefs, biometric data and the like.',
  ),
  dataType('Contacts', 'Contacts', 'Contacts', "The user's address book or social graph."),
  dataType(
    'EmailsOrTextMessages',
    'Emails or Text Messages',
    'User Content',
    'Subject, sender, recipients and contents of emails or messages.',
  ),
  dataType('PhotosorVideos', 'Photos or Videos', 'User Content', "The user's photos or videos."),
  dataType('AudioData', 'Audio Data', 'User Content', "The user's voice or sound recordings."),
  dataType(
    'GameplayContent',
    'Gameplay Content',
    'User Content',
    'Saved games, multiplayer matching or gameplay logic, user-generated in-game content.',
  ),
  dataType(
    'CustomerSupport',
    'Customer Support',
    'User Content',
    'Data the user gives during a support request.',
  ),
  dataType('OtherUserContent', 'Other User Content', 'User Content', 'Any other user-generated content.'),
  dataType(
    'BrowsingHistory',
    'Browsing History',
    'Browsing History',
    'Content the user viewed that is not part of the app, such as websites.',
  ),
  dataType('SearchHistory', 'Search History', 'Search History', 'Searches performed in the app.'),
  dataType('UserID', 'User ID', 'Identifiers', 'A screen name, handle, account ID or customer number.'),
  dataType(
    'DeviceID',
    'Device ID',
    'Identifiers',
    'A device-level identifier, such as the advertising identifier.',
  ),
  dataType(
    'PurchaseHistory',
    'Purchase History',
    'Purchases',
    "An account's or individual's purchases or purchase tendencies.",
  ),
  dataType(
    'ProductInteraction',
    'Product Interaction',
    'Usage Data',
    'App launches, taps, clicks, scrolling, music listening, video views and the like.',
  ),
  dataType(
    'AdvertisingData',
    'Advertising Data',
    'Usage Data',
    'Information about the advertisements the user has seen.',
  ),
  dataType(
    'OtherUsageData',
    'Other Usage Data',
    'Usage Data',
    'Any other data about user activity in the app.',
  ),
  dataType('CrashData', 'Crash Data', 'Diagnostics', 'Crash logs.'),
  dataType('PerformanceData', 'Performance Data', 'Diagnostics', 'Launch time, hang rate or energy use.'),
  dataType(
    'OtherDiagnosticData',
    'Other Diagnostic Data',
    'Diagnostics',
    'Any other data collected to measure technical diagnostics.',
  ),
  dataType(
    'EnvironmentScanning',
    'Environment Scanning',
    'Surroundings',
    'Mesh, planes, scene classification or image detection of the surroundings.',
  ),
  dataType('Hands', 'Hands', 'Body', "The user's hand structure and hand movements."),
  dataType('Head', 'Head', 'Body', "The user's head movement."),
  dataType('OtherDataTypes', 'Other Data Types', 'Other Data', 'Any other data types not mentioned.'),
]

export interface Purpose {
  id: string
  name: string
  description: string
}

const purpose = (short: string, name: string, description: string): Purpose => ({
  id: `NSPrivacyCollectedDataTypePurpose${short}`,
  name,
  description,
})

export const DATA_PURPOSES: readonly Purpose[] = [
  purpose(
    'ThirdPartyAdvertising',
    'Third-Party Advertising',
    'Showing third-party ads in the app, or sharing data with entities that do.',
  ),
  purpose(
    'DeveloperAdvertising',
    "Developer's Advertising or Marketing",
    'Showing your own ads in the app, sending marketing, or sharing data with those who do it for you.',
  ),
  purpose(
    'Analytics',
    'Analytics',
    'Evaluating user behaviour: measuring features, planning improvements, audience size.',
  ),
  purpose(
    'ProductPersonalization',
    'Product Personalization',
    'Customising what the user sees, such as recommendations or suggestions.',
  ),
  purpose(
    'AppFunctionality',
    'App Functionality',
    'Authentication, security and fraud prevention, customer support, features the app needs.',
  ),
  purpose('Other', 'Other Purposes', 'Any other purpose not listed.'),
]

export interface RequiredReasonApi {
  id: string
  name: string
  description: string
  reasons: readonly { code: string; description: string }[]
}

export const REQUIRED_REASON_APIS: readonly RequiredReasonApi[] = [
  {
    id: 'NSPrivacyAccessedAPICategoryFileTimestamp',
    name: 'File timestamp APIs',
    description: 'Creation or modification dates of files (stat, getattrlist, NSFileModificationDate…).',
    reasons: [
      { code: 'DDA9.1', description: 'Show file timestamps to the person using the device.' },
      {
        code: 'C617.1',
        description: 'Timestamps of files inside the app container, app group or CloudKit container.',
      },
      {
        code: '3B52.1',
        description: 'Timestamps of files or directories the user granted access to (document picker).',
      },
      { code: '0A2A.1', description: 'A third-party SDK wrapping file timestamp APIs for the app.' },
    ],
  },
  {
    id: 'NSPrivacyAccessedAPICategorySystemBootTime',
    name: 'System boot time APIs',
    description: 'Time since the device booted (systemUptime, mach_absolute_time…).',
    reasons: [
      { code: '35F9.1', description: 'Measure time elapsed between events in the app.' },
      { code: '8FFB.1', description: 'Compute absolute timestamps of events in the app (UIKit, AVFAudio).' },
      { code: '3D61.1', description: 'Optional bug reports the person chooses to submit.' },
    ],
  },
  {
    id: 'NSPrivacyAccessedAPICategoryDiskSpace',
    name: 'Disk space APIs',
    description: 'Available or total disk space (volumeAvailableCapacityKey, statfs…).',
    reasons: [
      { code: '85F4.1', description: 'Show disk space to the person using the device.' },
      {
        code: 'E174.1',
        description: 'Check there is room to write files, or delete files when space is low.',
      },
      { code: '7D9E.1', description: 'Optional bug reports the person chooses to submit.' },
      { code: 'B728.1', description: 'Health research apps that detect and inform about low disk space.' },
    ],
  },
  {
    id: 'NSPrivacyAccessedAPICategoryActiveKeyboards',
    name: 'Active keyboard APIs',
    description: 'The list of keyboards the person has enabled (activeInputModes).',
    reasons: [
      { code: '3EC4.1', description: 'A custom keyboard app deciding which keyboards are active.' },
      { code: '54BD.1', description: "Customise the app's interface to the active keyboards." },
    ],
  },
  {
    id: 'NSPrivacyAccessedAPICategoryUserDefaults',
    name: 'User defaults APIs',
    description: 'Reading and writing UserDefaults.',
    reasons: [
      { code: 'CA92.1', description: 'Information only accessible to the app itself.' },
      { code: '1C8F.1', description: 'Information shared among apps and extensions of the same App Group.' },
      { code: 'C56D.1', description: 'A third-party SDK wrapping user defaults APIs for the app.' },
      {
        code: 'AC6B.1',
        description: 'Managed app configuration or feedback (MDM, com.apple.configuration.managed).',
      },
    ],
  },
]

/** Identifier, short form (`EmailAddress`) or display name (`Email Address`), folded for lookup. */
const fold = (value: string) => value.toLowerCase().replace(/[^a-z0-9]/g, '')

function lookupOf<T extends { id: string; name: string }>(entries: readonly T[], prefix: string) {
  const byKey = new Map<string, T>()
  for (const entry of entries) {
    byKey.set(fold(entry.id), entry)
    byKey.set(fold(entry.id.slice(prefix.length)), entry)
    byKey.set(fold(entry.name), entry)
  }
  return (value: string): T | undefined => byKey.get(fold(value))
}

export const findDataType = lookupOf(COLLECTED_DATA_TYPES, DATA_TYPE_PREFIX)
export const findPurpose = lookupOf(DATA_PURPOSES, 'NSPrivacyCollectedDataTypePurpose')
export const findRequiredReasonApi = lookupOf(REQUIRED_REASON_APIS, 'NSPrivacyAccessedAPICategory')
