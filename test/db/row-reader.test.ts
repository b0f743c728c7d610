import { expect, it } from 'bun:test'
import { getTableName, sql } from 'drizzle-orm'
import { many } from '../../db/query'
import { rowReader } from '../../db/row-reader'
import { sandboxes, sites, users } from '../../db/schema'
import { migrate } from '../../db/sqlite/migrate'
import { openStore } from '../../db/sqlite/store'

// rowReader reads rows straight from bun:sqlite for hot lists; what it returns must be exactly
// what Drizzle's select returns for the same rows: JSON parsed (or null), booleans, numbers.
it('reads rows exactly as Drizzle does, JSON and boolean columns included', async () => {
  const store = openStore(':memory:')
  try {
    migrate(store)
    const db = store.sqlite
    db.run(
      `INSERT INTO users (id, email, is_operator, abuse_flags, payment_method, created_at, updated_at)
       VALUES ('u1', 'a@example.com', 1, '{"b":1,"a":[2]}', NULL, 1, 2), ('u2', 'b@example.com', 0, '{}', '{"id":"pm","last4":"4242"}', 3, 4)`,
    )
    db.run(
      "INSERT INTO teams (id, owner_user_id, name, slug, created_at, updated_at) VALUES ('t1', 'u1', 'n', 's', 1, 1)",
    )
    db.run(
      `INSERT INTO apps (id, user_id, app_name, slug, deployed, created_at, updated_at) VALUES ('a1', 'u1', 'A', 'a', 1, 1, 1)`,
    )
    db.run(
      `INSERT INTO sites (app_id, smart_banner, search_indexing, domain_dns_verified, created_at, updated_at)
       VALUES ('a1', '{"appStoreId":"1"}', 0, 1, 1, 1)`,
    )
    db.run(
      `INSERT INTO sandboxes (id, team_id, user_id, template, status, vcpus, memory_mb, metadata, created_at, updated_at)
       VALUES ('s1', 't1', 'u1', 'base', 'running', 1, 512, '{"n":1}', 5, 5), ('s2', 't1', NULL, 'base', 'destroyed', 2, 256, NULL, 6, 6)`,
    )
    for (const table of [users, sites, sandboxes]) {
      const reader = rowReader(table)
      const raw = (
        db.query(`SELECT ${reader.columns} FROM "${getTableName(table)}" ORDER BY rowid`).all() as Record<
          string,
          unknown
        >[]
      ).map(reader.decode)
      const viaDrizzle = await many(store.orm.select().from(table).orderBy(sql`rowid`))
      expect(raw as unknown[]).toEqual(viaDrizzle as unknown[])
    }
  } finally {
    store.close()
  }
})
