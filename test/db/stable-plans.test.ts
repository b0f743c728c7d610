import { describe, expect, it } from 'bun:test'
import { migrate } from '../../db/sqlite/migrate'
import { withStablePlan } from '../../db/sqlite/stable-plans'
import { openStore } from '../../db/sqlite/store'

// db/sqlite/stable-plans.ts writes bound parameters as `+?` in statements that order or group, so SQLite
// stops re-preparing them on every run. The rewrite must change neither the plan nor the answer.

describe('withStablePlan', () => {
  it('rewrites parameters only in statements that order or group, and never inside literals', () => {
    expect(withStablePlan('SELECT * FROM t WHERE a = ?')).toBe('SELECT * FROM t WHERE a = ?')
    expect(withStablePlan('SELECT * FROM t WHERE a = ? AND b IN (?, ?) ORDER BY c LIMIT ?')).toBe(
      'SELECT * FROM t WHERE a = +? AND b IN (+?, +?) ORDER BY c LIMIT +?',
    )
    expect(withStablePlan(`SELECT '?' AS q, "a?" FROM t WHERE x = ? GROUP BY y`)).toBe(
      `SELECT '?' AS q, "a?" FROM t WHERE x = +? GROUP BY y`,
    )
    expect(withStablePlan('SELECT * FROM t WHERE a = +? ORDER BY b')).toBe(
      'SELECT * FROM t WHERE a = +? ORDER BY b',
    )
  })

  it('keeps the index plan and the rows of ordered lookups on the real schema', () => {
    const store = openStore(':memory:')
    try {
      migrate(store)
      const db = store.sqlite
      db.run("INSERT INTO users (id, email, created_at, updated_at) VALUES ('u1', 'a@example.com', 1, 1)")
      for (const [id, at] of [
        ['t2', 20],
        ['t1', 10],
        ['t3', 30],
      ] as const)
        db.run(
          "INSERT INTO teams (id, owner_user_id, name, slug, created_at, updated_at) VALUES (?, 'u1', 'n', ?, ?, ?)",
          [id, `slug-${id}`, at, at],
        )
      const queries: [string, unknown[]][] = [
        ['SELECT id FROM teams WHERE owner_user_id = ? ORDER BY created_at LIMIT 1', ['u1']],
        [
          'SELECT id FROM teams WHERE owner_user_id = ? AND created_at >= ? ORDER BY created_at DESC',
          ['u1', 15],
        ],
        ['SELECT owner_user_id, count(*) AS n FROM teams WHERE created_at > ? GROUP BY owner_user_id', [0]],
        // Affinity: a text parameter against an integer column still compares as a number.
        ['SELECT id FROM teams WHERE created_at = ? ORDER BY id', ['20']],
      ]
      for (const [sql, params] of queries) {
        const plan = (text: string) =>
          (db.query(`EXPLAIN QUERY PLAN ${text}`).all(...(params as [])) as { detail: string }[]).map(
            (r) => r.detail,
          )
        expect(plan(withStablePlan(sql))).toEqual(plan(sql))
        expect(db.query(withStablePlan(sql)).all(...(params as []))).toEqual(
          db.query(sql).all(...(params as [])),
        )
      }
      expect(db.query(withStablePlan(queries[0]?.[0] as string)).get('u1')).toEqual({ id: 't1' })
      expect(db.query(withStablePlan(queries[3]?.[0] as string)).all('20')).toEqual([{ id: 't2' }])
    } finally {
      store.close()
    }
  })
})
