/**
 * Progress of a long-running command (migrate-store, restore), on stderr. On a terminal: one line
 * rewritten in place at most ten times a second. Elsewhere (a log, `docker exec` without -t, CI):
 * plain lines, at most one every two seconds and whenever the step changes, so that a long run is
 * visibly alive without flooding the log. Nothing with `--json` (scripts read the final report).
 */
export function terminalProgress(
  quiet: boolean,
  stream: { isTTY?: boolean; write(text: string): unknown } = process.stderr,
  now: () => number = Date.now,
): { update(line: string): void; done(): void } {
  const live = stream.isTTY === true
  const interval = live ? 100 : 2000
  let last = 0
  let shown = false
  let lastStep = ''
  return {
    update(line) {
      if (quiet) return
      // The step is what comes before the counts ("copying users: 10/30" → "copying users").
      const step = line.replace(/[:\s]*[\d/.,%\s]+$/, '')
      const t = now()
      if (t - last < interval && step === lastStep) return
      last = t
      lastStep = step
      shown = true
      stream.write(live ? `\r\x1b[2K${line}` : `${line}\n`)
    },
    done() {
      if (!quiet && live && shown) stream.write('\r\x1b[2K')
    },
  }
}
