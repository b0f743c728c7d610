import { describe, expect, it } from 'bun:test'
import { createTestApp } from '../support/harness'

// One email rule on every path (src/lib/email.ts): NFKC and case folded, bidi and zero-width
// characters refused, a look-alike of an existing address refused as that address.
const FULLWIDTH_ALICE = '\uFF41\uFF4C\uFF49\uFF43\uFF45@example.com' // ａｌｉｃｅ@example.com
const BIDI = 'ali\u202Eecil@example.com'
const ZERO_WIDTH = 'al\u200Bice@example.com'

describe('email look-alikes', () => {
  it('a session token cannot take a look-alike of an existing address nor one with bidi controls', async () => {
    const t = createTestApp()
    await t.createUser({ email: 'alice@example.com' })
    for (const email of [FULLWIDTH_ALICE, 'ALICE@EXAMPLE.COM', BIDI, ZERO_WIDTH]) {
      const token = await t.session(crypto.randomUUID(), email)
      const r = await t.request('GET', '/v1/account/me', { token })
      expect({ email, status: r.status }).toEqual({ email, status: 401 })
    }
    const rows = await t.rows<{ email: string }>('SELECT email FROM users')
    expect(rows.map((r) => r.email)).toEqual(['alice@example.com'])
  })

  it('a session token with a compatibility form is stored in its normal form', async () => {
    const t = createTestApp()
    const token = await t.session(crypto.randomUUID(), '\uFF22\uFF4F\uFF42@Example.com') // Ｂｏｂ@
    const r = await t.json('GET', '/v1/account/me', { token })
    expect(r.status).toBe(200)
    expect(await t.rows('SELECT email FROM users')).toEqual([{ email: 'bob@example.com' }])
  })

  it('the admin path applies the same rule: look-alike is taken, bidi is invalid', async () => {
    const t = createTestApp()
    const op = await t.createUser({ operator: true })
    await t.createUser({ email: 'alice@example.com' })
    const lookalike = await t.json('POST', '/v1/admin/users', {
      token: op.session,
      body: { email: FULLWIDTH_ALICE },
    })
    expect(lookalike.status).toBe(409)
    for (const email of [BIDI, ZERO_WIDTH]) {
      const r = await t.json('POST', '/v1/admin/users', { token: op.session, body: { email } })
      expect({ email, status: r.status }).toEqual({ email, status: 400 })
    }
    const international = await t.json('POST', '/v1/admin/users', {
      token: op.session,
      body: { email: 'José@Exämple.com' },
    })
    expect(international.status).toBe(201)
    expect(international.body.email).toBe('josé@exämple.com')
  })
})
