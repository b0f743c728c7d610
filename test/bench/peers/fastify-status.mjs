// The peer of `bun run bench status`: Fastify (Node) + better-sqlite3 answering GET /api/status
// with the same lookup the honest floor does — SHA-256 of the bearer, one prepared SELECT of the
// key by its hash (WAL) — and the same JSON body. Prints READY {url} like the bench servers.
import { createHash, timingSafeEqual } from 'node:crypto'
import Database from 'better-sqlite3'
import Fastify from 'fastify'

const db = new Database(process.env.DATABASE_PATH, { readonly: false })
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
const lookup = db.prepare('SELECT key_hash, user_id, revoked_at FROM api_keys WHERE key_hash = ?')
const BODY = JSON.parse(process.env.STATUS_JSON)

const app = Fastify({ logger: false })
app.get('/api/status', (request, reply) => {
  const token = (request.headers.authorization ?? '').replace(/^Bearer /, '')
  const digest = createHash('sha256').update(token).digest('hex')
  const key = lookup.get(digest)
  if (!key || key.revoked_at !== null || !timingSafeEqual(Buffer.from(key.key_hash), Buffer.from(digest)))
    return reply.code(401).send({ error: 'unauthorized' })
  return BODY
})
const address = await app.listen({ port: 0, host: '127.0.0.1' })
console.log(`READY ${JSON.stringify({ url: address })}`)
