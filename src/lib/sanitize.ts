import type sanitizeHtmlType from 'sanitize-html'

const URL_ATTRIBUTES = ['href', 'src', 'srcset']
/** A script scheme anywhere in a URL value, even behind quotes, backticks or control characters. */
const SCRIPT_SCHEME = /(?:java|vb)script:|data:text\/html/i
/** What browsers skip inside a URL scheme, so the check must skip it too. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const SCHEME_NOISE = /[\s\x00-\x1f`'"]/g

/** Drops URL attributes that smuggle a script scheme past the scheme check (old-IE backticks…). */
function withoutScriptUrls(tagName: string, attribs: sanitizeHtmlType.Attributes) {
  const kept: sanitizeHtmlType.Attributes = {}
  for (const [name, value] of Object.entries(attribs))
    if (!URL_ATTRIBUTES.includes(name) || !SCRIPT_SCHEME.test(value.replace(SCHEME_NOISE, '')))
      kept[name] = value
  return { tagName, attribs: kept }
}

/** CSS values that could load or run something: `url(…)`, `expression(…)`, escapes. */
const SAFE_CSS_VALUE = /^(?!.*(?:url\s*\(|expression\s*\(|javascript:|\\))[#(),.%\w\s-]+$/i
const cssProperties = [
  'color',
  'background-color',
  'text-align',
  'font-size',
  'font-weight',
  'font-style',
  'text-decoration',
  'line-height',
  'margin',
  'margin-top',
  'margin-bottom',
  'padding',
  'width',
  'max-width',
  'height',
  'display',
  'border',
  'border-radius',
  'gap',
]

/**
 * The custom homepage HTML an app owner may publish: structure, text, links and images, with
 * no script, no event handler, no `javascript:` (or other non-web) URL, no embedded frames or
 * forms, and only a harmless subset of inline styles.
 */
export function sanitizeHomepage(html: string): string {
  // Loaded with the first homepage, not at start-up (~25 ms of evaluation).
  const sanitizeHtml = require('sanitize-html') as typeof sanitizeHtmlType
  return sanitizeHtml(html, {
    allowedTags: [
      ...sanitizeHtml.defaults.allowedTags,
      'img',
      'section',
      'header',
      'footer',
      'main',
      'article',
      'nav',
      'figure',
      'figcaption',
      'picture',
      'source',
      'h1',
      'h2',
    ],
    allowedAttributes: {
      '*': ['class', 'id', 'title', 'lang', 'dir', 'style', 'aria-*'],
      a: ['href', 'name', 'target', 'rel'],
      img: ['src', 'srcset', 'alt', 'width', 'height', 'loading'],
      source: ['srcset', 'type', 'media'],
      td: ['colspan', 'rowspan'],
      th: ['colspan', 'rowspan', 'scope'],
    },
    allowedSchemes: ['http', 'https', 'mailto', 'tel'],
    allowedSchemesByTag: { img: ['http', 'https', 'data'], source: ['http', 'https'] },
    allowedSchemesAppliedToAttributes: ['href', 'src', 'srcset', 'cite'],
    allowProtocolRelative: false,
    allowedStyles: { '*': Object.fromEntries(cssProperties.map((p) => [p, [SAFE_CSS_VALUE]])) },
    transformTags: {
      // Links that open a new tab may not reach back into the page that opened them.
      a: (tagName, attribs) => {
        const safe = withoutScriptUrls(tagName, attribs)
        return safe.attribs.target === '_blank'
          ? { tagName, attribs: { ...safe.attribs, rel: 'noopener noreferrer' } }
          : safe
      },
      img: withoutScriptUrls,
      source: withoutScriptUrls,
    },
    disallowedTagsMode: 'discard',
  })
}
