import { expect } from 'bun:test'
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'

/**
 * For routes that answer a finished Response, which Elysia neither cleans nor checks against the
 * route's schema (the hot ones; why: src/routes/v1/account.ts, GET /v1/account/me): the answer must satisfy the schema
 * and hold nothing the schema's clean would have stripped.
 */
export function expectAnswerToMatch(schema: TSchema, answer: unknown) {
  const errors = [...TypeCompiler.Compile(schema).Errors(answer)].map((e) => `${e.path}: ${e.message}`)
  expect(errors).toEqual([])
  expect(Value.Clean(schema, structuredClone(answer))).toEqual(answer)
}
