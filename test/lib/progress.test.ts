import { expect, it } from 'bun:test'
import { terminalProgress } from '../../src/lib/progress'

const sink = (isTTY: boolean) => {
  const written: string[] = []
  return { written, stream: { isTTY, write: (text: string) => written.push(text) } }
}

it('prints plain progress lines off a terminal: on each new step and at most every two seconds', () => {
  const { written, stream } = sink(false)
  let now = 0
  const progress = terminalProgress(false, stream, () => now)
  for (let i = 1; i <= 100; i++) {
    now += 100
    progress.update(`copying users: ${i}/100`)
  }
  progress.update('verifying users: 1/100')
  progress.done()
  expect(written.every((line) => line.endsWith('\n') && !line.includes('\r'))).toBe(true)
  expect(written[0]).toBe('copying users: 1/100\n')
  expect(written.length).toBe(5 + 1) // at 0.1, 2.1, 4.1, 6.1 and 8.1 s, then the new step
  expect(written.at(-1)).toBe('verifying users: 1/100\n')
})

it('rewrites one line in place on a terminal, and prints nothing with --json', () => {
  const tty = sink(true)
  const progress = terminalProgress(false, tty.stream, () => 0)
  progress.update('copying users: 1/2')
  progress.done()
  expect(tty.written).toEqual(['\r\x1b[2Kcopying users: 1/2', '\r\x1b[2K'])
  const json = sink(false)
  const quiet = terminalProgress(true, json.stream, () => 0)
  quiet.update('copying users: 1/2')
  quiet.done()
  expect(json.written).toEqual([])
})
