// The PostgreSQL peer of `BENCH_STORE=postgres bun run bench status`: Fastify (Node) + node-postgres
// (pg.Pool, 10 connections) answering GET /api/status with the same lookup the honest floor does —
// SHA-256 of the bearer, one SELECT of the key by its hash — and the same JSON body.
import { createHash, timingSafeEqual } from 'node:crypto'
import Fastify from 'fastify'
import pg from 'pg'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
// The bench stops PostgreSQL when it is done: an idle connection closed then is no error of ours.
pool.on('error', () => {})
const BODY = JSON.parse(process.env.STATUS_JSON)

const app = Fastify({ logger: false })
app.get('/api/status', async (request, reply) => {
  const token = (request.headers.authorization ?? '').replace(/^Bearer /, '')
  const digest = createHash('sha256').update(token).digest('hex')
  const { rows } = await pool.query({
    name: 'key-lookup',
    text: 'SELECT key_hash, user_id, revoked_at FROM api_keys WHERE key_hash = $1',
    values: [digest],
  })
  const key = rows[0]
  if (!key || key.revoked_at !== null || !timingSafeEqual(Buffer.from(key.key_hash), Buffer.from(digest)))
    return reply.code(401).send({ error: 'unauthorized' })
  return BODY
})
const address = await app.listen({ port: 0, host: '127.0.0.1' })
console.log(`READY ${JSON.stringify({ url: address })}`)
