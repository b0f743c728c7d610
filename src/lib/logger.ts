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
 * emails or bodies (operations.md).
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
  const log = (lvl: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < min) return
    write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields })}\n`)
  }
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}

export const silentLogger: Logger = createLogger('silent')

export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error: error.message, errorName: error.name, stack: error.stack }
  return { error: String(error) }
}
