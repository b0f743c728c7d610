// Stripe's own example objects (test/support/stripe-fixtures/), as the base of every answer of
// the emulator: a deep copy of the resource's fixture with the emulator's state laid over it, so
// an answer has every field Stripe's has, with Stripe's JSON types.

import type { Json } from './stripe-emulator-wire'
import fixtures from './stripe-fixtures/fixtures.json'

export type StripeResource = keyof typeof fixtures.resources

/** The API version the adapter is written for (src/billing/stripe-adapter.ts pins the same). */
export const EMULATED_API_VERSION = '2026-10-28.endive'

export const fixtureOf = (resource: StripeResource): Json =>
  structuredClone(fixtures.resources[resource]) as Json

/** The fixture of `resource`, with `overlay`'s fields in place of its own (top level). */
export function fromFixture(resource: StripeResource, overlay: Json): Json {
  return { ...fixtureOf(resource), livemode: false, ...overlay }
}

/** Stripe's list envelope around `data`, the way the fixture of a parent object nests it. */
export const nestedList = (data: Json[], url: string): Json => ({
  object: 'list',
  data,
  has_more: false,
  total_count: data.length,
  url,
})
