import { Database } from 'bun:sqlite'
import { afterAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT } from 'jose'
import { type BinaryServer, runCli, sharedBinary, startBinary } from '../support/binary'

const dirs: string[] = []
const servers: BinaryServer[] = []
afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL')
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const JWT_SECRET = 'webhook-crash-secret-0123456789abcdef'

describe('webhook delivery survives kill -9', () => {
  it('sends an event in flight when the server died again after restart, with the same webhook-id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custodian-webhook-crash-'))
    dirs.push(dir)
    // The receiver holds the first request open (the server dies while waiting), answers the rest.
    const received: { id: string; body: string }[] = []
    const receiver = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      async fetch(request) {
        received.push({ id: request.headers.get('webhook-id') ?? '', body: await request.text() })
        if (received.length === 1) await new Promise(() => {})
        return new Response(null, { status: 204 })
      },
    })
    try {
      const binary = await sharedBinary()
      const env = {
        AUTH_JWT_SECRET: JWT_SECRET,
        WEBHOOKS_ALLOW_HTTP: 'true',
        WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_TIMEOUT_SECONDS: '2',
      }
      const first = await startBinary(binary, dir, env)
      servers.push(first)
      const op = JSON.parse(
        (
          await runCli(
            binary,
            dir,
            ['user', 'create', '--email', 'op@example.com', '--operator', '--json'],
            first.env,
          )
        ).stdout,
      ) as { userId: string }
      const session = await new SignJWT({
        email: 'op@example.com',
        email_verified: true,
        role: 'authenticated',
      })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(op.userId)
        .setAudience('authenticated')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(JWT_SECRET))
      const registered = await fetch(`${first.url}/v1/admin/webhook-endpoints`, {
        method: 'POST',
        headers: { authorization: `Bearer ${session}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `http://127.0.0.1:${receiver.port}/hooks`, events: ['account.created'] }),
      })
      expect(registered.status).toBe(201)
      const created = JSON.parse(
        (await runCli(binary, dir, ['user', 'create', '--email', 'new@example.com', '--json'], first.env))
          .stdout,
      ) as { userId: string }

      const deadline = Date.now() + 10_000
      while (received.length === 0 && Date.now() < deadline) await Bun.sleep(20)
      expect(received).toHaveLength(1)
      await first.stop('SIGKILL')

      const second = await startBinary(binary, dir, env)
      servers.push(second)
      // Sent again once the dead sender's lease (timeout + 5 s) has run out.
      const again = Date.now() + 20_000
      while (received.length < 2 && Date.now() < again) await Bun.sleep(50)
      expect(received).toHaveLength(2)
      expect(received[1]?.id).toBe(received[0]?.id as string)
      expect(JSON.parse(received[1]?.body as string).data.user_id).toBe(created.userId)
      const settled = Date.now() + 5_000
      const db = new Database(second.env.DATABASE_PATH as string, { readonly: true })
      let status = ''
      while (status !== 'succeeded' && Date.now() < settled) {
        status = (db.query('SELECT status FROM webhook_deliveries').get() as { status: string }).status
        await Bun.sleep(50)
      }
      db.close()
      expect(status).toBe('succeeded')
      // Once, not more: nothing else was sent.
      expect(received).toHaveLength(2)
    } finally {
      receiver.stop(true)
    }
  }, 60_000)
})
