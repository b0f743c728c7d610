import { describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { exec, many } from '../../db/query'
import { idempotencyKeys, users } from '../../db/tables'
import {
  claimIdempotencyKey,
  type IdempotentRequest,
  recordIdempotencyOutcome,
} from '../../src/services/idempotency'
import { createTestApp } from '../support/harness'

// A route that takes its Idempotency-Key claim inside its own transaction (POST /v1/sandboxes)
// stores an outcome it settles afterwards with recordIdempotencyOutcome, whatever became of the
// claim: never taken, rolled back, or committed and still in progress.

const answer = (status: number, body: string) => ({
  status,
  body,
  contentType: 'application/json',
  location: null,
})

describe('recordIdempotencyOutcome', () => {
  it('inserts a missing outcome, finishes its own claim, and leaves another request’s alone', async () => {
    const t = createTestApp()
    const u = await t.createUser()
    const request = (key: string, fingerprint = 'f-1'): IdempotentRequest => ({
      principal: u.user.id,
      key,
      method: 'POST',
      path: '/v1/sandboxes',
      fingerprint,
    })
    const row = async (key: string) =>
      (await many(t.store.orm.select().from(idempotencyKeys))).find((r) => r.key === key)

    // Never taken, or rolled back with the route's transaction: inserted, finished.
    await recordIdempotencyOutcome(t.store, t.clock, request('absent'), answer(400, '{"a":1}'))
    expect(await row('absent')).toMatchObject({
      state: 'done',
      status: 400,
      body: '{"a":1}',
      fingerprint: 'f-1',
    })

    // Committed still in progress (an answer settled after the transaction): finished.
    expect(await claimIdempotencyKey(t.store, t.clock, request('mine'))).toEqual({ kind: 'claimed' })
    await recordIdempotencyOutcome(t.store, t.clock, request('mine'), answer(422, '{"b":2}'))
    expect(await row('mine')).toMatchObject({ state: 'done', status: 422, body: '{"b":2}' })

    // Another request's outcome, or another request's claim: untouched.
    await recordIdempotencyOutcome(t.store, t.clock, request('absent'), answer(404, '{"c":3}'))
    expect(await row('absent')).toMatchObject({ status: 400, body: '{"a":1}' })
    expect(await claimIdempotencyKey(t.store, t.clock, request('theirs', 'f-2'))).toEqual({ kind: 'claimed' })
    await recordIdempotencyOutcome(t.store, t.clock, request('theirs'), answer(400, '{"d":4}'))
    expect(await row('theirs')).toMatchObject({ state: 'in_progress', status: null, body: null })

    // An account being erased keeps no new row.
    await exec(
      t.store.orm.update(users).set({ erasureRequestedAt: t.clock.now() }).where(eq(users.id, u.user.id)),
    )
    await recordIdempotencyOutcome(t.store, t.clock, request('late'), answer(400, '{"e":5}'))
    expect(await row('late')).toBeUndefined()
    t.close()
  })
})
