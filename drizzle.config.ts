import { defineConfig } from 'drizzle-kit'

// drizzle-kit only generates SQL here; migrations are applied by the app itself (db/migrate.ts).
export default defineConfig({
  dialect: 'sqlite',
  schema: './db/schema/index.ts',
  out: './db/migrations',
})
