/**
 * A start-up failure the operator can fix: printed as one line naming the setting, its value and
 * the cause — never a stack or source — and the process exits 78 (EX_CONFIG), like a bad variable.
 */
export class StartupError extends Error {
  override name = 'StartupError'
}

/** `EACCES: permission denied` from a Node/Bun error, without the call's own arguments. */
export function causeOf(error: unknown): string {
  const e = error as { code?: string; message?: string }
  const message = (e.message ?? String(error)).replace(/,\s*(mkdir|open|listen|access)\s+'[^']*'$/, '')
  return e.code && !message.startsWith(e.code) ? `${e.code}: ${message}` : message
}
