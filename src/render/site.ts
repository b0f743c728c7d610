import type { AppRow, SiteRow } from '../../db/rows'
import type { PageKind, SmartBanner } from '../../db/schema'
import { findDataType, findPurpose } from '../privacy/apple-reference'
import { effectivePrivacyManifest, type PrivacyManifestConfig } from '../privacy/manifest'
import { html, paragraphs, type SafeHtml, safeUrl, trusted } from './html'

/** Everything a deploy renders from: the saved configuration, as of the deploy. */
export interface RenderInput {
  app: AppRow
  site: SiteRow
  policy: Record<string, any> | null
  pages: Partial<Record<PageKind, Record<string, any>>>
}

/** The pages a deploy can publish, by their name in the deploy answer. */
export const PAGE_FILES = {
  privacyPolicy: { path: 'privacy', file: 'privacy.html' },
  supportPage: { path: 'support', file: 'support.html' },
  dataDeletion: { path: 'delete', file: 'delete.html' },
  nutritionLabels: { path: 'privacy-labels', file: 'privacy-labels.html' },
  aasa: { path: '.well-known/apple-app-site-association', file: 'apple-app-site-association' },
  testflight: { path: 'testflight', file: 'testflight.html' },
} as const
export type PageName = keyof typeof PAGE_FILES

export interface RenderedFile {
  contentType: string
  body: string
}

export interface RenderedSite {
  /** File name in the version directory → content. Always has index.html. */
  files: Record<string, RenderedFile>
  /** The pages this deploy publishes. */
  published: PageName[]
}

const HTML = 'text/html; charset=utf-8'

const CSS = `:root{color-scheme:light dark;--fg:#1d1d1f;--muted:#6e6e73;--bg:#fff;--accent:#0071e3}
@media (prefers-color-scheme:dark){:root{--fg:#f5f5f7;--muted:#a1a1a6;--bg:#111;--accent:#2997ff}}
*{box-sizing:border-box}body{margin:0;font:17px/1.55 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:760px;margin:0 auto;padding:24px}header{display:flex;gap:16px;align-items:center}
header img{width:64px;height:64px;border-radius:14px}header h1{margin:0;font-size:28px}main h2{margin-top:32px}
a{color:var(--accent)}footer{color:var(--muted);font-size:14px;border-top:1px solid rgba(128,128,128,.25)}footer a{margin-right:16px}
.button{display:inline-block;padding:12px 20px;border-radius:10px;background:var(--accent);color:#fff;text-decoration:none}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid rgba(128,128,128,.25);padding:8px;text-align:left;vertical-align:top}`

/** Renders the app's pages to static files. Throws when the saved data cannot be rendered. */
export function renderSite(input: RenderInput): RenderedSite {
  const files: Record<string, RenderedFile> = {}
  const published: PageName[] = []
  const add = (name: PageName, body: string, contentType = HTML) => {
    files[PAGE_FILES[name].file] = { contentType, body }
    published.push(name)
  }
  const { policy, pages } = input
  if (policy) add('privacyPolicy', layout(input, 'Privacy Policy', privacyPolicy(input, policy)))
  if (pages.support) add('supportPage', layout(input, 'Support', supportPage(pages.support)))
  if (pages.deletion)
    add('dataDeletion', layout(input, 'Delete Your Data', deletionPage(input, pages.deletion)))
  const manifest = effectivePrivacyManifest(pages.privacy_manifest, policy)
  const labels = manifest ? privacyLabels(manifest) : null
  if (labels) add('nutritionLabels', layout(input, 'Privacy Labels', labels))
  if (pages.aasa) add('aasa', `${JSON.stringify(aasaDocument(pages.aasa), null, 2)}\n`, 'application/json')
  if (pages.testflight && pages.testflight.enabled !== false)
    // A beta invitation is never for search engines, whatever the site's searchIndexing.
    add('testflight', layout(input, 'Join the Beta', testflightPage(pages.testflight), { noindex: true }))
  files['index.html'] = { contentType: HTML, body: index(input, published) }
  return { files, published }
}

function layout(
  input: RenderInput,
  title: string,
  content: SafeHtml,
  options: { raw?: boolean; noindex?: boolean } = {},
): string {
  const { app, site } = input
  const banner = site.smartBanner ? smartBannerMeta(site.smartBanner) : null
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title === app.appName ? title : `${title} · ${app.appName}`}</title>
${site.searchIndexing && !options.noindex ? null : html`<meta name="robots" content="noindex, nofollow">`}
${banner ? html`<meta name="apple-itunes-app" content="${banner}">` : null}
${site.description ? html`<meta name="description" content="${site.description}">` : null}
${safeUrl(site.iconUrl) ? html`<link rel="icon" href="${site.iconUrl}">` : null}
<style>${trusted(CSS)}</style></head>
<body>${
    options.raw
      ? content
      : html`<header>${safeUrl(site.iconUrl) ? html`<img src="${site.iconUrl}" alt="">` : null}<h1>${app.appName}</h1></header>
<main><h2>${title}</h2>${content}</main>
<footer><a href="./">${app.appName}</a><a href="privacy">Privacy</a><a href="support">Support</a></footer>`
  }</body></html>
`.value
}

function smartBannerMeta(b: SmartBanner): string {
  const parts = [`app-id=${b.appStoreId}`]
  if (b.affiliateData) parts.push(`affiliate-data=${b.affiliateData}`)
  if (b.appArgument) parts.push(`app-argument=${b.appArgument}`)
  // Apple's App Clip format: app-clip-bundle-id, and app-clip-display=card for the card style.
  if (b.appClipBundleId) parts.push(`app-clip-bundle-id=${b.appClipBundleId}`)
  if (b.appClipBundleId && b.appClipDisplay === 'card') parts.push('app-clip-display=card')
  return parts.join(', ')
}

const PAGE_TITLES: Record<PageName, string> = {
  privacyPolicy: 'Privacy Policy',
  supportPage: 'Support',
  dataDeletion: 'Delete Your Data',
  nutritionLabels: 'Privacy Labels',
  aasa: 'App Site Association',
  testflight: 'Join the Beta',
}

function index(input: RenderInput, published: PageName[]): string {
  const { site } = input
  if (site.customHomepageHtml)
    // Sanitised when saved (lib/sanitize.ts); the page's CSP forbids scripts besides.
    return layout(input, input.app.appName, trusted(site.customHomepageHtml), { raw: true })
  const links = published
    .filter((p) => p !== 'aasa')
    .map((p) => html`<li><a href="${PAGE_FILES[p].path}">${PAGE_TITLES[p]}</a></li>`)
  return layout(
    input,
    input.app.appName,
    html`${paragraphs(site.description)}${links.length ? html`<ul>${links}</ul>` : null}`,
  )
}

const list = (items: unknown) =>
  Array.isArray(items) && items.length
    ? html`<ul>${items.map((i) => html`<li>${String(i)}</li>`)}</ul>`
    : null
const yes = (v: unknown) => v === 'yes' || v === true

function privacyPolicy(input: RenderInput, p: Record<string, any>): SafeHtml {
  const info = p['app-info'] ?? {}
  const collection = p['data-collection'] ?? {}
  const third = p['third-party'] ?? {}
  const retention = p['data-retention'] ?? {}
  const children = p['children-tracking'] ?? {}
  const appName = info.app_name || input.app.appName
  const who = info.developer_name || 'the developer'
  const email = typeof info.email === 'string' && info.email ? info.email : null
  return html`<p>This policy explains how ${appName}, provided by ${who}, handles your information.</p>
<h3>Information we collect</h3>
${
  collection.collects_data === 'no'
    ? html`<p>${appName} does not collect personal data.</p>`
    : html`<p>${appName} collects the following data:</p>${list(collection.data_types) ?? html`<p>Not specified.</p>`}
${Array.isArray(collection.purposes) && collection.purposes.length ? html`<p>We use it for:</p>${list(collection.purposes)}` : null}`
}
<h3>Sharing with third parties</h3>
${
  Array.isArray(third.shares_data) && third.shares_data.length
    ? html`<p>We share data with third parties for:</p>${list(third.shares_data)}${paragraphs(third.third_party_list)}`
    : html`<p>We do not share your data with third parties.</p>`
}
<h3>Retention</h3>
${yes(retention.retains_data) ? html`<p>${retentionSentence(retention.retention_period)}</p>` : html`<p>We keep data only as long as needed to provide the service.</p>`}
<h3>Children and tracking</h3>
${yes(children.children_or_tracking) ? html`${list(children.collects_from_children)}${list(children.uses_tracking)}` : html`<p>${appName} is not directed at children and does not track you across other companies' apps and websites.</p>`}
<h3>Contact</h3>
<p>${email ? html`Questions about this policy: <a href="mailto:${email}">${email}</a>.` : html`Contact ${who} with questions about this policy.`}</p>`
}

function address(a: unknown): SafeHtml | null {
  if (typeof a === 'string') return a.trim() ? html`<p>${a}</p>` : null
  if (!a || typeof a !== 'object') return null
  const o = a as Record<string, string | null | undefined>
  const lines = [o.street, [o.city, o.state, o.zip].filter(Boolean).join(' '), o.country].filter(
    (l) => l && String(l).trim(),
  )
  return lines.length ? html`<p>${lines.map((l, i) => (i ? [html`<br>`, l] : l))}</p>` : null
}

function hours(h: unknown): SafeHtml | null {
  if (typeof h === 'string') return h.trim() ? html`<p>${h}</p>` : null
  if (!h || typeof h !== 'object') return null
  const o = h as { from: string; to: string; timezone: string; days: string[] }
  return html`<p>${o.days.join(', ')}: ${o.from}–${o.to} (${o.timezone})</p>`
}

function supportPage(s: Record<string, any>): SafeHtml {
  const url = safeUrl(s.contactUrl)
  return html`<p>Email: <a href="mailto:${s.contactEmail}">${s.contactEmail}</a></p>
${s.contactPhone ? html`<p>Phone: <a href="tel:${String(s.contactPhone).replace(/[^+0-9]/g, '')}">${s.contactPhone}</a></p>` : null}
${url ? html`<p>Web: <a href="${url}">${url}</a></p>` : null}
${s.contactAddress ? html`<h3>Address</h3>${address(s.contactAddress)}` : null}
${s.supportHours ? html`<h3>Hours</h3>${hours(s.supportHours)}` : null}
${
  Array.isArray(s.faqItems) && s.faqItems.length
    ? html`<h3>Frequently asked questions</h3>${s.faqItems.map((f: { question: string; answer: string }) => html`<h4>${f.question}</h4>${paragraphs(f.answer)}`)}`
    : null
}
${paragraphs(s.additionalInfo)}`
}

function deletionPage(input: RenderInput, d: Record<string, any>): SafeHtml {
  const url = safeUrl(d.deletionUrl)
  return html`${
    d.supportsAccounts
      ? html`<p>You can ask for your ${input.app.appName} account and its data to be deleted.</p>`
      : html`<p>${input.app.appName} has no user accounts. To ask about data we may hold, contact us below.</p>`
  }
${list(d.deletionMethods)}
${Array.isArray(d.deletionSteps) && d.deletionSteps.length ? html`<h3>How to delete</h3><ol>${d.deletionSteps.map((s: string) => html`<li>${s}</li>`)}</ol>` : null}
${d.deletionEmail ? html`<p>Email: <a href="mailto:${d.deletionEmail}">${d.deletionEmail}</a></p>` : null}
${url ? html`<p><a class="button" href="${url}">Request deletion</a></p>` : null}
${d.deletionTimeline ? html`<h3>Timeline</h3><p>${d.deletionTimeline}</p>` : null}
${d.dataRetainedAfterDeletion ? html`<h3>Data kept after deletion</h3>${paragraphs(d.dataRetainedAfterDeletion)}` : null}
${paragraphs(d.additionalInfo)}`
}

/**
 * The retention answer as one sentence. A period ("12 months") goes into ours; an answer that is a
 * sentence of its own ("Location history is kept for 30 days.") stands alone, never wrapped in
 * "We keep your data for …" and never with a doubled final period.
 */
export function retentionSentence(answer: unknown): string {
  const text = typeof answer === 'string' ? answer.trim() : ''
  if (!text) return 'We keep your data for as long as needed to provide the service.'
  const isSentence = text.split(/\s+/).length >= 4 && (/[.!?]$/.test(text) || /^[A-Z]/.test(text))
  const body = text.replace(/[.!?]+$/, '')
  return isSentence ? `${body}${/[!?]$/.test(text) ? text.slice(-1) : '.'}` : `We keep your data for ${body}.`
}

/** The App Store privacy labels, from the same config as PrivacyInfo.xcprivacy (never disagreeing). */
function privacyLabels(manifest: PrivacyManifestConfig): SafeHtml {
  const nameOf = (id: string, find: (v: string) => { name: string } | undefined) => find(id)?.name ?? id
  return html`${manifest.tracking ? html`<p><strong>This app tracks you</strong> across other companies' apps and websites.</p>` : null}
${
  manifest.dataTypes.length
    ? html`<table><thead><tr><th>Data</th><th>Linked to you</th><th>Used to track you</th><th>Purposes</th></tr></thead><tbody>${manifest.dataTypes.map(
        (d) =>
          html`<tr><td>${nameOf(d.type, findDataType)}</td><td>${d.linkedToUser ? 'Yes' : 'No'}</td><td>${d.usedForTracking ? 'Yes' : 'No'}</td><td>${d.purposes.map((p) => nameOf(p, findPurpose)).join(', ')}</td></tr>`,
      )}</tbody></table>`
    : html`<p>Data Not Collected.</p>`
}`
}

function testflightPage(p: Record<string, any>): SafeHtml {
  const url = safeUrl(p.testFlightUrl)
  return html`${paragraphs(p.betaDescription)}
${p.requirements ? html`<h3>Requirements</h3>${paragraphs(p.requirements)}` : null}
${url ? html`<p><a class="button" href="${url}">Join on TestFlight</a></p>` : null}
${p.feedbackEmail ? html`<p>Feedback: <a href="mailto:${p.feedbackEmail}">${p.feedbackEmail}</a></p>` : null}`
}

/** The Apple app-site-association document from the saved AASA page. */
export function aasaDocument(a: Record<string, any>) {
  const doc: Record<string, unknown> = {}
  if (a.universalLinks)
    doc.applinks = {
      details: [
        {
          appIDs: a.universalLinks.appIDs,
          components: (a.universalLinks.paths ?? []).map(
            (p: { pattern: string; exclude?: boolean; comment?: string | null }) => ({
              '/': p.pattern,
              ...(p.exclude ? { exclude: true } : {}),
              ...(p.comment ? { comment: p.comment } : {}),
            }),
          ),
        },
      ],
    }
  if (a.appClips) doc.appclips = { apps: a.appClips.appIDs }
  if (a.webCredentials) doc.webcredentials = { apps: a.webCredentials.appIDs }
  if (a.activityContinuation) doc.activitycontinuation = { apps: a.activityContinuation.appIDs }
  return doc
}
