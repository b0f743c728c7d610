import { eq } from 'drizzle-orm'
import { accountDeletions } from '../../db/schema'
import { hashUserId } from '../../src/lib/pseudonym'
import type { TestApp } from './harness'

/** The deletion jobs and receipts of a user, found by its pseudonym (receipts keep no user id). */
export const receiptsOf = (t: TestApp, userId: string) =>
  t.store.orm
    .select()
    .from(accountDeletions)
    .where(eq(accountDeletions.userHash, hashUserId(userId)))
    .all()
