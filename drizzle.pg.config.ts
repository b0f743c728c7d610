import { defineConfig } from 'drizzle-kit'

// The PostgreSQL store's migrations, generated from db/pg/schema.ts (itself rendered from the
// SQLite schema); hand-written statements (seeds, triggers) are custom migrations beside them.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/pg/schema.ts',
  out: './db/migrations-pg',
})
