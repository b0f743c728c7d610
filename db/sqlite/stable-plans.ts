/**
 * SQLite 3.54 (as bundled with Bun 1.4.5) re-prepares a statement on EVERY run when it has an
 * ORDER BY or GROUP BY and a bare bound parameter in its WHERE clause: the planner marks such
 * parameters as able to change the plan, and each new binding expires the statement. Measured:
 * `SELECT * FROM teams WHERE owner_user_id = ? ORDER BY created_at LIMIT 1` costs 4–6 µs per run,
 * the same with the value written inline 0.6 µs, and preparing it once 3.8 µs — the difference
 * is a full re-prepare. (better-sqlite3 with SQLite 3.53.2: 1.6 µs either way.)
 *
 * Writing the parameter as `+?` keeps the plan (the index is still used: the unary plus is on
 * the value, not the column) and the value (SQLite's unary plus "always returns a result with
 * the same value as the operand"; like a bare parameter it has no affinity, so comparisons apply
 * the column's) but the planner no longer treats it as plan-changing. test/db/stable-plans.test.ts
 * checks the plans and the results stay the same.
 */

const ORDERING = /\b(order|group)\s+by\b/i

/** `sql` with each `?` parameter outside string literals written `+?`, when it orders or groups. */
export function withStablePlan(sql: string): string {
  if (!ORDERING.test(sql)) return sql
  let out = ''
  let quote: string | null = null
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i] as string
    if (quote) {
      if (c === quote) quote = null
    } else if (c === "'" || c === '"' || c === '`') quote = c
    else if (c === '?' && sql[i - 1] !== '+') {
      out += '+?'
      continue
    }
    out += c
  }
  return out
}
