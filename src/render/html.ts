/**
 * HTML building where escaping is the default: every value interpolated into `html\`…\`` is
 * escaped unless it is itself the result of `html` (or deliberately marked `trusted`). A hostile
 * app name or policy answer can only ever become text.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString() {
    return this.value
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
}
export const escapeHtml = (s: string) => s.replace(/[&<>"'`]/g, (c) => ESCAPES[c] as string)

type Value = SafeHtml | string | number | boolean | null | undefined | Value[]

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof SafeHtml) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(String(value))
}

export function html(strings: TemplateStringsArray, ...values: Value[]): SafeHtml {
  let out = strings[0] as string
  for (let i = 0; i < values.length; i++) out += render(values[i] as Value) + (strings[i + 1] as string)
  return new SafeHtml(out)
}

/** Markup that is already safe (the sanitised custom homepage, our own CSS). */
export const trusted = (markup: string) => new SafeHtml(markup)

/** A URL fit for href/src: http(s), mailto or tel only; anything else is dropped. */
export function safeUrl(url: unknown): string | null {
  if (typeof url !== 'string' || url.length === 0) return null
  return /^(https?:\/\/|mailto:|tel:)/i.test(url) ? url : null
}

/** Text with its line breaks kept. */
export const paragraphs = (text: unknown) =>
  typeof text === 'string' && text.trim()
    ? text
        .split(/\n{2,}/)
        .map((p) => html`<p>${p.split('\n').map((line, i) => (i ? [html`<br>`, line] : line))}</p>`)
    : null
