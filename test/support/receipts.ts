import { eq } from 'drizzle-orm'
import { many } from '../../db/query'
import { accountDeletions } from '../../db/tables'
import { hashUserId } from '../../src/lib/pseudonym'
import type { TestApp } from './harness'

/** The deletion jobs and receipts of a user, found by its pseudonym (receipts keep no user id). */
export const receiptsOf = async (t: TestApp, userId: string) =>
  await many(
    t.store.orm
      .select()
      .from(accountDeletions)
      .where(eq(accountDeletions.userHash, hashUserId(userId))),
  )
