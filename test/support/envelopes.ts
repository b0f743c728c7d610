import { expect } from 'bun:test'
import { API_ERROR_CODES, V1_ERROR_CODES } from '../../src/errors'
import { TEST_PUBLIC_URL } from './harness'

/** Asserts the /api envelope and returns its error object. */
export function expectApiError(body: any, code: string) {
  expect(Object.keys(body)).toEqual(['error'])
  expect(body.error.code).toBe(code)
  expect(API_ERROR_CODES).toContain(body.error.code)
  expect(typeof body.error.message).toBe('string')
  expect(body.error.docUrl).toBe(`${TEST_PUBLIC_URL}/docs/errors#${code.toLowerCase().replace(/_/g, '-')}`)
  return body.error
}

/** Asserts the /v1 envelope (with the request id of the response). */
export function expectV1Error(body: any, code: string, headers: Headers) {
  expect(body.code).toBe(code)
  expect(V1_ERROR_CODES).toContain(body.code)
  expect(typeof body.error).toBe('string')
  expect(body.request_id).toBe(headers.get('x-request-id'))
  return body
}

/** The fields of a /v1 `user` object (docs/spec/api-v1.md), sorted: account reads and the export agree. */
export const V1_USER_FIELDS = [
  'abuse_flags',
  'avatar_url',
  'created_at',
  'delete_scheduled_at',
  'display_name',
  'email',
  'email_verified_at',
  'id',
  'is_operator',
  'name',
  'quota_tier_id',
  'soft_deleted_at',
  'tier',
  'updated_at',
]
