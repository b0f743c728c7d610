import { bufferedWriter } from './write-all'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

/**
 * One JSON object per line on stdout. Callers pass only what is safe to keep: never tokens, keys,
 * emails or bodies (docs/spec/operations.md).
 */
let stdoutWriter: ReturnType<typeof bufferedWriter> | undefined

/** The process's stdout log stream, buffered (see write-all.ts); flushed at exit and on shutdown. */
export function stdoutLog() {
  stdoutWriter ??= bufferedWriter(1)
  return stdoutWriter
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => stdoutLog().write(l),
): Logger {
  const min = RANK[level]
  const log = (lvl: Exclude<LogLevel, 'silent'>) => {
    const head = `","level":"${lvl}","msg":`
    return (msg: string, fields?: Record<string, unknown>) => {
      if (RANK[lvl] < min) return
      // The line is one request's share of the server's work: the object is not copied to add
      // the three leading fields, and the timestamp is formatted once per millisecond.
      if (fields === undefined || 'time' in fields || 'level' in fields || 'msg' in fields)
        write(`${JSON.stringify({ time: isoNow(), level: lvl, msg, ...fields })}\n`)
      else {
        const rest = JSON.stringify(fields)
        write(
          `{"time":"${isoNow()}${head}${JSON.stringify(msg)}${rest === '{}' ? '}' : `,${rest.slice(1)}`}\n`,
        )
      }
    }
  }
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}

let isoMillis = -1
let isoText = ''
/** `new Date().toISOString()`, formatted at most once per millisecond. */
function isoNow(): string {
  const now = Date.now()
  if (now !== isoMillis) {
    isoMillis = now
    isoText = new Date(now).toISOString()
  }
  return isoText
}

export const silentLogger: Logger = createLogger('silent')

export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error: error.message, errorName: error.name, stack: error.stack }
  return { error: String(error) }
}
