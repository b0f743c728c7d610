/** First characters a spreadsheet takes for a formula: `=`, `+`, `-`, `@`, tab, CR. */
const FORMULA_START = new Set([61, 43, 45, 64, 9, 13])
const NEEDS_QUOTES = /[",\r\n]/

/**
 * One CSV cell (RFC 4180): quoted when it holds a quote, comma, CR or LF, quotes doubled. Text that
 * a spreadsheet would run as a formula — starting with `=`, `+`, `-`, `@`, a tab or a CR — is
 * prefixed with `'` (OWASP's CSV-injection advice); numbers stay numbers.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  let text = typeof value === 'string' ? value : JSON.stringify(value)
  if (FORMULA_START.has(text.charCodeAt(0))) text = `'${text}`
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** One CSV record, CRLF-terminated. */
export function csvRow(cells: readonly unknown[]): string {
  let line = cells.length > 0 ? csvCell(cells[0]) : ''
  for (let i = 1; i < cells.length; i++) line += `,${csvCell(cells[i])}`
  return `${line}\r\n`
}
