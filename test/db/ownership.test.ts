import { describe, expect, it } from 'bun:test'
import { OWNED_TABLES, ownerWhere, SYSTEM_TABLES, schemaTableNames } from '../../db/ownership'
import { migrate } from '../../db/sqlite/migrate'
import { openStore } from '../../db/sqlite/store'

const store = openStore(':memory:')
migrate(store)
const owned = OWNED_TABLES.map((t) => t.name)

describe('the ownership registry', () => {
  it('classifies every table of the Drizzle schema as owned or system data, never both', () => {
    for (const name of schemaTableNames()) {
      const isOwned = owned.includes(name)
      const isSystem = name in SYSTEM_TABLES
      expect({ table: name, classified: isOwned !== isSystem }).toEqual({ table: name, classified: true })
    }
  })

  it('classifies every table that exists in the migrated database', () => {
    const tables = store.sqlite
      .query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as { name: string }[]
    expect(tables.length).toBeGreaterThan(10)
    for (const { name } of tables)
      expect({ table: name, classified: owned.includes(name) || name in SYSTEM_TABLES }).toEqual({
        table: name,
        classified: true,
      })
  })

  it('reaches rows with valid SQL from a user id, in an order an index can serve', () => {
    for (const table of OWNED_TABLES) {
      expect(() =>
        store.sqlite.query(`SELECT count(*) FROM ${table.name} WHERE ${ownerWhere(table)}`).get('u'),
      ).not.toThrow()
      expect(() =>
        store.sqlite.query(`SELECT * FROM ${table.name} ORDER BY ${table.orderBy} LIMIT 1`).get(),
      ).not.toThrow()
    }
  })

  it('lists tables in foreign-key-safe erase order (children before parents)', () => {
    for (const [index, table] of OWNED_TABLES.entries()) {
      const parents = store.sqlite.query(`PRAGMA foreign_key_list(${table.name})`).all() as {
        table: string
      }[]
      for (const { table: parent } of parents) {
        if (!owned.includes(parent)) continue
        expect({ child: table.name, parent, parentAfterChild: owned.indexOf(parent) > index }).toEqual({
          child: table.name,
          parent,
          parentAfterChild: true,
        })
      }
    }
  })

  it('decides, for every owned table, where each export puts it or why it does not', () => {
    for (const table of OWNED_TABLES) {
      if ('notExported' in table.export) expect(table.export.notExported.length).toBeGreaterThan(10)
      else {
        expect(table.export.api).toMatch(/^[a-z][A-Za-z]*$/)
        expect(table.export.v1).toMatch(/^[a-z][a-z_]*$/)
      }
    }
  })
})
