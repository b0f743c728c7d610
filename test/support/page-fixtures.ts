/** A valid body for every page route (keys are the route names). */
export const VALID_PAGES: Record<string, Record<string, unknown>> = {
  policy: {
    'app-info': { app_name: 'Pages App', developer_name: 'Dev Ltd', email: 'privacy@dev.example' },
    'data-collection': { collects_data: 'yes', data_types: ['email'], purposes: ['analytics'] },
    'third-party': { shares_data: ['analytics'], third_party_list: 'Plausible' },
    'data-retention': { retains_data: 'yes', retention_period: '12 months' },
    'children-tracking': { children_or_tracking: 'no', collects_from_children: [], uses_tracking: [] },
    _seenSections: { 'app-info': true },
  },
  'support-page': {
    contactEmail: 'help@dev.example',
    contactPhone: '+1 (555) 010-0000',
    contactUrl: 'https://dev.example/help',
    contactAddress: '1 Main St, Springfield',
    supportHours: 'Mon–Fri 9–5',
    faqItems: [{ question: 'How?', answer: 'Like this.' }],
    additionalInfo: 'More',
  },
  'deletion-page': {
    supportsAccounts: true,
    deletionMethods: ['in_app', 'email'],
    deletionEmail: 'delete@dev.example',
    deletionUrl: 'https://dev.example/delete',
    deletionSteps: ['Open settings', 'Tap delete'],
    deletionTimeline: '30 days',
    dataRetainedAfterDeletion: 'Invoices for 7 years',
    additionalInfo: 'x',
  },
  'testflight-page': {
    enabled: true,
    testFlightUrl: 'https://testflight.apple.com/join/AbCd1234',
    betaDescription: 'Beta',
    requirements: 'iOS 17',
    feedbackEmail: 'beta@dev.example',
  },
  aasa: {
    universalLinks: {
      appIDs: ['ABCDE12345.com.dev.app'],
      paths: [{ pattern: '/items/*', exclude: false, comment: 'items' }],
    },
    appClips: { appIDs: ['ABCDE12345.com.dev.app.Clip'] },
    webCredentials: { appIDs: ['ABCDE12345.com.dev.app'] },
    activityContinuation: null,
  },
  'privacy-manifest': {
    tracking: false,
    trackingDomains: ['stats.dev.example'],
    dataTypes: [
      { type: 'Email Address', linkedToUser: true, usedForTracking: false, purposes: ['App Functionality'] },
    ],
  },
}
