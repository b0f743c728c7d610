import type { AppDeps } from './deps'
import { isAppError } from './errors'
import { projectRequestForV1 } from './projections/data-requests'
import { createRequest, listRequests, REQUEST_TYPES } from './services/data-requests'

type Out = (line: string) => void
interface RequestFlags {
  type?: string
  email?: string
  user?: string
  note?: string
  overdue?: boolean
  json?: boolean
}

/**
 * `custodian requests create|list`: the case log of /v1/admin/requests from the command line (same
 * services, same checks) — what an operator types when a request arrives by post. Answers the exit code.
 */
export async function requestsCommand(command: string, deps: AppDeps, flags: RequestFlags, out: Out) {
  try {
    const now = deps.clock.now()
    if (command === 'requests create') {
      if (!flags.type || !(REQUEST_TYPES as string[]).includes(flags.type))
        throw new Error(`--type is one of ${REQUEST_TYPES.join(', ')}`)
      if (!flags.email && !flags.user) throw new Error('--email or --user is required')
      const row = await createRequest(deps, {
        type: flags.type as (typeof REQUEST_TYPES)[number],
        userId: flags.user,
        email: flags.email,
        channel: 'other',
        note: flags.note ?? null,
      })
      if (flags.json) out(JSON.stringify(projectRequestForV1(row, now)))
      else out(`Recorded ${row.type} request ${row.id}, due ${new Date(row.dueAt).toISOString()}`)
      return 0
    }
    const { rows } = await listRequests(deps, { overdue: flags.overdue === true }, 200, null)
    const projected = rows.map((r) => projectRequestForV1(r, now))
    if (flags.json) out(JSON.stringify({ requests: projected }))
    else if (projected.length === 0) out(flags.overdue ? 'No overdue requests.' : 'No requests.')
    else
      for (const r of projected)
        out(
          `${r.id}  ${r.type.padEnd(13)}  ${r.status.padEnd(16)}  due ${r.due_at}${r.overdue ? '  OVERDUE' : ''}`,
        )
    return 0
  } catch (error) {
    process.stderr.write(`${isAppError(error) ? error.message : (error as Error).message}\n`)
    return 1
  }
}
