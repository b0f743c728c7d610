import { describe, expect, it } from 'bun:test'
import { HOUR, MINUTE } from '../../src/lib/clock'
import { startOfUtcDay, utcDay } from '../../src/lib/time'
import { sweepExpiredSandboxes } from '../../src/services/sandboxes'
import { createTestApp } from '../support/harness'

/** A small deterministic generator, so a failure replays the same way. */
function random(seed: number) {
  let x = seed
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x / 2 ** 31
  }
}

describe('team sandbox totals', () => {
  it('always equal a recount of the rows, through creates, destroys, hibernations, resumes, timeouts and midnights', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const u = await t.createUser()
    await t.exec(
      "INSERT INTO quota_tiers (id, display_name, daily_sandbox_creates, max_concurrent_sandboxes, daily_gb_hours) VALUES ('big', 'Big', 100000, 100000, 100000)",
    )
    await t.exec("UPDATE teams SET quota_tier_id = 'big' WHERE id = ?", u.team.id)
    const key = await t.runtimeKey(u)
    const next = random(42)
    const ids: string[] = []
    let checked = 0
    for (let step = 0; step < 400; step++) {
      t.clock.advance(Math.floor(next() * 20 * MINUTE))
      const roll = next()
      const id = ids[Math.floor(next() * ids.length)]
      if (roll < 0.45 || !id) {
        const r = await t.json('POST', '/v1/sandboxes', {
          token: key,
          body: {
            template: 'base',
            memory_mb: 256 * (1 + Math.floor(next() * 8)),
            ...(next() < 0.3 ? { timeout_ms: 30 * MINUTE } : {}),
          },
          headers: { 'idempotency-key': `s-${step}` },
        })
        expect(r.status).toBe(201)
        ids.push(r.body.id)
      } else if (roll < 0.6) await t.request('DELETE', `/v1/sandboxes/${id}`, { token: key })
      else if (roll < 0.75) await t.request('POST', `/v1/sandboxes/${id}/hibernate`, { token: key })
      else if (roll < 0.9) await t.request('POST', `/v1/sandboxes/${id}/resume`, { token: key })
      else await sweepExpiredSandboxes(t.deps)

      const totals = (await t.row(
        'SELECT active, running_memory_mb, running_charged_mib_ms, settled_day FROM team_sandbox_totals WHERE team_id = ?',
        u.team.id,
      )) as {
        active: number
        running_memory_mb: number
        running_charged_mib_ms: number
        settled_day: string | null
      } | null
      if (!totals || totals.settled_day !== utcDay(t.clock.now())) continue // stale: recomputed at next use
      const dayStart = startOfUtcDay(t.clock.now())
      const recount = (await t.row(
        `SELECT count(*) AS active,
                coalesce(sum(CASE WHEN status = 'running' THEN memory_mb END), 0) AS memory,
                coalesce(sum(CASE WHEN status = 'running' THEN memory_mb * (charged_until - ?) END), 0) AS charged
           FROM sandboxes WHERE team_id = ? AND status IN ('creating', 'running', 'paused')`,
        dayStart,
        u.team.id,
      )) as { active: number; memory: number; charged: number }
      // Number(): PostgreSQL sums bigints as numeric, which its client hands over as text.
      expect({ step, active: totals.active, memory: totals.running_memory_mb }).toEqual({
        step,
        active: Number(recount.active),
        memory: Number(recount.memory),
      })
      expect(Math.abs(totals.running_charged_mib_ms - Number(recount.charged))).toBeLessThan(1)
      checked++
    }
    // The walk crossed several midnights and compared settled totals many times.
    expect(t.clock.now() - Date.UTC(2026, 0, 15, 12)).toBeGreaterThan(48 * HOUR)
    expect(checked).toBeGreaterThan(100)
  })
})
