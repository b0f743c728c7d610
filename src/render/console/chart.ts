import { html } from '../html'

/**
 * A bar chart as inline SVG, drawn on the server: no script, no style attribute (the CSP allows
 * neither), readable by screen readers through its title and the table that follows it.
 */
export function barChart(title: string, bars: { label: string; value: number }[]) {
  const width = 720
  const height = 180
  const top = 16
  const bottom = 28
  // Room on each side for the first and last labels, centred under their bars.
  const side = 24
  const highest = Math.max(0, ...bars.map((b) => b.value))
  const max = Math.max(1, highest)
  const slot = (width - 2 * side) / Math.max(1, bars.length)
  const barWidth = Math.max(2, slot * 0.7)
  const plot = height - top - bottom
  return html`<svg viewBox="${`0 0 ${width} ${height}`}" role="img" aria-labelledby="chart-title" width="${width}" height="${height}">
    <title id="chart-title">${title}</title>
    ${bars.map((bar, i) => {
      const h = Math.round((bar.value / max) * plot)
      const x = Math.round(side + i * slot + (slot - barWidth) / 2)
      return html`<rect class="bar" x="${x}" y="${top + plot - h}" width="${Math.round(barWidth)}" height="${h}"><title>${`${bar.label}: ${bar.value}`}</title></rect>`
    })}
    ${bars
      .filter((_, i) => i % 5 === 0 || i === bars.length - 1)
      .map((bar) => {
        const i = bars.indexOf(bar)
        return html`<text x="${Math.round(side + i * slot + slot / 2)}" y="${height - 8}" text-anchor="middle">${bar.label.slice(5)}</text>`
      })}
    <text x="0" y="12">${`most in a day: ${highest.toLocaleString('en-US')}`}</text>
  </svg>`
}
