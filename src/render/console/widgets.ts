import { toRfc3339 } from '../../lib/time'
import { html, type SafeHtml } from '../html'

type Cell = SafeHtml | string | number | boolean | null | undefined

/** A table with a caption (what it lists) and column headers; an empty one says so. */
export function table(caption: string, headers: string[], rows: Cell[][], empty = 'Nothing here.') {
  if (rows.length === 0) return html`<section><h2>${caption}</h2><p class="empty">${empty}</p></section>`
  return html`<div class="table-wrap"><table>
    <caption>${caption}</caption>
    <thead><tr>${headers.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
    <tbody>${rows.map((row) => html`<tr>${row.map((cell) => html`<td>${cell === null || cell === undefined ? '—' : cell}</td>`)}</tr>`)}</tbody>
  </table></div>`
}

/** "Next page" by keyset: the link carries the cursor, not an offset. */
export function pager(path: string, params: Record<string, string | null | undefined>, next: string | null) {
  if (!next) return html``
  const query = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v) query.set(k, v)
  query.set('after', next)
  return html`<nav class="pager" aria-label="Pages"><a href="${`${path}?${query}`}" rel="next">Next page</a></nav>`
}

/** A time for people: UTC, to the minute, with the exact instant in <time>. */
export function when(ms: number | null | undefined): SafeHtml | string {
  if (ms === null || ms === undefined) return '—'
  const iso = toRfc3339(ms)
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`
}

/** A form that posts one action, with the session's CSRF token. */
export function actionForm(
  action: string,
  csrf: string,
  label: string,
  fields: SafeHtml | SafeHtml[] = [],
  options: { danger?: boolean } = {},
) {
  return html`<form method="post" action="${action}" class="action">
    <input type="hidden" name="csrf" value="${csrf}">
    ${fields}
    <button type="submit" ${options.danger ? html`class="danger"` : ''}>${label}</button>
  </form>`
}

/** A labelled input (every control has a visible label). */
export function field(
  name: string,
  label: string,
  options: {
    type?: string
    value?: string
    required?: boolean
    maxLength?: number
    id?: string
    autocomplete?: string
  } = {},
) {
  const id = options.id ?? `f-${name}`
  return html`<label for="${id}">${label}</label>
    <input id="${id}" name="${name}" type="${options.type ?? 'text'}" ${options.value !== undefined ? html`value="${options.value}"` : ''} ${options.required ? html`required` : ''} maxlength="${options.maxLength ?? 200}" ${options.autocomplete ? html`autocomplete="${options.autocomplete}"` : ''}>`
}

/** A labelled select. */
export function select(
  name: string,
  label: string,
  choices: [string, string][],
  selected?: string,
  id?: string,
) {
  const fid = id ?? `f-${name}`
  return html`<label for="${fid}">${label}</label>
    <select id="${fid}" name="${name}">${choices.map(([value, text]) => html`<option value="${value}" ${value === selected ? html`selected` : ''}>${text}</option>`)}</select>`
}

/** A figure on the overview: a number that links to the list behind it. */
export function stat(label: string, value: number, href: string, tone: 'ok' | 'warn' = 'ok') {
  return html`<li class="${`stat ${value > 0 && tone === 'warn' ? 'warn' : ''}`}"><a href="${href}"><span class="value">${value.toLocaleString('en-US')}</span> <span class="label">${label}</span></a></li>`
}

/** A status word with its colour (and the word itself: colour is never the only signal). */
export const badge = (text: string, tone: 'ok' | 'warn' | 'bad' | 'muted' = 'muted') =>
  html`<span class="${`badge ${tone}`}">${text}</span>`
