/**
 * Progress of a long-running command on a terminal: one line on stderr, rewritten in place at most
 * ten times a second. Silent when stderr is not a terminal or the command was asked for `--json`
 * (scripts read the final report only).
 */
export function terminalProgress(quiet: boolean): { update(line: string): void; done(): void } {
  const live = !quiet && process.stderr.isTTY === true
  let last = 0
  let shown = false
  return {
    update(line) {
      if (!live) return
      const now = Date.now()
      if (now - last < 100) return
      last = now
      shown = true
      process.stderr.write(`\r\x1b[2K${line}`)
    },
    done() {
      if (live && shown) process.stderr.write('\r\x1b[2K')
    },
  }
}
