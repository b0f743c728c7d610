import { describe, expect, it } from 'bun:test'
import { Parser } from 'htmlparser2'
import { sanitizeHomepage } from '../../src/lib/sanitize'

const FORBIDDEN_TAGS = [
  'script',
  'iframe',
  'object',
  'embed',
  'form',
  'input',
  'meta',
  'base',
  'link',
  'style',
  'svg',
  'math',
  'template',
  'noscript',
]

/** What a browser would actually build from the HTML: its elements and their attributes. */
function problemsIn(html: string): string[] {
  const problems: string[] = []
  const parser = new Parser({
    onopentag(name, attributes) {
      if (FORBIDDEN_TAGS.includes(name)) problems.push(`<${name}>`)
      for (const [attribute, value] of Object.entries(attributes)) {
        if (attribute.startsWith('on')) problems.push(`${name}[${attribute}]`)
        // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters hide a scheme from naive checks
        const squashed = value.replace(/[\s\x00-\x1f`'"]/g, '').toLowerCase()
        if (/(?:java|vb)script:|data:text\/html/.test(squashed))
          problems.push(`${name}[${attribute}=${value}]`)
        if (['href', 'src'].includes(attribute) && value.startsWith('//'))
          problems.push(`${name}[${attribute}] protocol-relative`)
        if (attribute === 'style' && /url\s*\(|expression\s*\(/i.test(value))
          problems.push(`${name}[style=${value}]`)
      }
    },
  })
  parser.write(html)
  parser.end()
  return problems
}

// A list of classic XSS vectors (OWASP filter-evasion cheat sheet and friends).
const PAYLOADS = [
  '<script>alert(1)</script>',
  '<SCRIPT SRC=//evil.example/xss.js></SCRIPT>',
  '<img src=x onerror=alert(1)>',
  '<img src="javascript:alert(1)">',
  '<IMG SRC=JaVaScRiPt:alert(1)>',
  '<img src=`javascript:alert(1)`>',
  '<svg/onload=alert(1)>',
  '<svg><script>alert(1)</script></svg>',
  '<body onload=alert(1)>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
  '<a href="javascript:alert(1)">x</a>',
  '<a href="jav&#x09;ascript:alert(1)">x</a>',
  '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
  '<a href=" javascript:alert(1)">x</a>',
  '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
  '<a href="vbscript:msgbox(1)">x</a>',
  '<div style="background:url(javascript:alert(1))">x</div>',
  '<div style="width: expression(alert(1))">x</div>',
  '<p style="color: red; background-image: url(http://evil.example/track.png)">x</p>',
  '<object data="javascript:alert(1)"></object>',
  '<embed src="javascript:alert(1)">',
  '<form action="javascript:alert(1)"><input type=submit></form>',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
  '<details open ontoggle=alert(1)>',
  '<video><source onerror="alert(1)"></video>',
  '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
  '<base href="javascript:alert(1)//">',
  '<link rel=stylesheet href="javascript:alert(1)">',
  '<style>@import "javascript:alert(1)";</style>',
  '"><script>alert(1)</script>',
  '<scr<script>ipt>alert(1)</scr</script>ipt>',
  '<div onmouseover="alert(1)">hover</div>',
  '<input autofocus onfocus=alert(1)>',
  '<img srcset="javascript:alert(1) 1x">',
  '<a href="//evil.example">protocol-relative</a>',
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
  '<template><script>alert(1)</script></template>',
]

describe('custom homepage sanitiser', () => {
  it('leaves no script, event handler, javascript: URL, frame, form or style loader in any payload', () => {
    for (const payload of PAYLOADS) {
      const clean = sanitizeHomepage(payload)
      expect({ payload, clean, problems: problemsIn(clean) }).toEqual({ payload, clean, problems: [] })
    }
    // The checker itself sees what it must: every payload is a problem before sanitising, except
    // the nested one, which parses as a tag named "scr<script"; its output must not hold "<script".
    const nested = '<scr<script>ipt>alert(1)</scr</script>ipt>'
    expect(PAYLOADS.filter((p) => problemsIn(p).length === 0)).toEqual([nested])
    expect(sanitizeHomepage(nested).toLowerCase()).not.toContain('<script')
  })

  it('keeps ordinary content: headings, paragraphs, links, images, lists and safe styles', () => {
    const html =
      '<h1>My App</h1><p style="text-align: center; color: #333">Hello <strong>world</strong></p><a href="https://example.com" target="_blank">site</a><img src="https://cdn.example/a.png" alt="A"><ul><li>one</li></ul>'
    expect(sanitizeHomepage(html)).toBe(
      '<h1>My App</h1><p style="text-align:center;color:#333">Hello <strong>world</strong></p><a href="https://example.com" target="_blank" rel="noopener noreferrer">site</a><img src="https://cdn.example/a.png" alt="A" /><ul><li>one</li></ul>',
    )
  })
})
