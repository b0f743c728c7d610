import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type Stripe from 'stripe'
import { createStripeClient, STRIPE_API_VERSION } from '../../src/billing/stripe-adapter'
import { type StripeEmulator, startStripeEmulator } from '../support/stripe-emulator'
import { completeCheckout } from '../support/stripe-emulator-billing'
import type { Json } from '../support/stripe-emulator-wire'
import { EMULATED_API_VERSION, fixtureOf, type StripeResource } from '../support/stripe-fixture-objects'

let em: StripeEmulator
let stripe: Stripe
beforeAll(() => {
  em = startStripeEmulator()
  stripe = createStripeClient({ secretKey: 'sk_test_shapes', apiBase: em.url, maxNetworkRetries: 0 })
})
afterAll(() => em.stop())

/**
 * Fields Stripe documents as nullable whose fixture happens to show them filled (a cancelled
 * subscription's `canceled_at`, a customer's `discount`…). The emulator answers null there when
 * there is nothing to say — as Stripe does — instead of the fixture's example value, which would
 * be a lie (a trial end on a subscription that never had a trial). Each is checked against the
 * stripe SDK's own types, generated from Stripe's OpenAPI spec, below.
 */
const NULLABLE: Partial<Record<StripeResource, { types: string; fields: string[] }>> = {
  customer: { types: 'Customers', fields: ['address', 'discount', 'shipping'] },
  setup_intent: { types: 'SetupIntents', fields: ['last_setup_error', 'next_action'] },
  subscription: {
    types: 'Subscriptions',
    fields: ['cancel_at', 'canceled_at', 'ended_at', 'trial_end', 'trial_start'],
  },
  'checkout.session': { types: 'Checkout/Sessions', fields: ['cancel_url', 'payment_intent'] },
  'billing_portal.session': { types: 'BillingPortal/Sessions', fields: ['flow'] },
}

const jsonType = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value)

/**
 * What differs from Stripe's fixture: a fixture key the object lacks, or a key whose fixture value
 * is not null and whose JSON type differs.
 */
function shapeProblems(resource: StripeResource, object: Json): string[] {
  const fixture = fixtureOf(resource)
  const problems: string[] = []
  if (object.object !== fixture.object) problems.push(`object is ${object.object}, not ${fixture.object}`)
  for (const [key, value] of Object.entries(fixture)) {
    if (!(key in object)) problems.push(`missing ${key}`)
    else if (object[key] === null && NULLABLE[resource]?.fields.includes(key)) continue
    else if (value !== null && jsonType(object[key]) !== jsonType(value))
      problems.push(`${key} is ${jsonType(object[key])}, not ${jsonType(value)}`)
  }
  return problems
}

/** The JSON the SDK received (its objects carry a non-enumerable lastResponse; JSON drops it). */
const wire = (value: unknown) => JSON.parse(JSON.stringify(value)) as Json

describe("the Stripe emulator answers in Stripe's own shapes", () => {
  it('gives every resource it serves every field of its fixture, with the fixture’s JSON types', async () => {
    const customer = await stripe.customers.create({
      email: 'shapes@example.com',
      metadata: { app: 'custodian' },
    })
    const method = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id })
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: method.id } })
    const intent = await stripe.setupIntents.create({ customer: customer.id, usage: 'off_session' })
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: 'price_monthly', quantity: 2 }],
    })
    const item = subscription.items.data[0] as Stripe.SubscriptionItem
    const checkout = await stripe.checkout.sessions.create({
      customer: customer.id,
      mode: 'subscription',
      success_url: 'https://example.com/ok',
      line_items: [{ price: 'price_yearly', quantity: 1 }],
    })
    const portal = await stripe.billingPortal.sessions.create({
      customer: customer.id,
      return_url: 'https://example.com',
    })
    const invoices = await stripe.invoices.list({ customer: customer.id, limit: 1 })
    const price = await stripe.prices.retrieve('price_monthly')
    const event = completeCheckout(em, checkout.id)
    const deleted = await stripe.customers.del(customer.id)

    const answers: [StripeResource, unknown][] = [
      ['customer', customer],
      ['payment_method', method],
      ['setup_intent', intent],
      ['subscription', subscription],
      ['subscription_item', item],
      ['price', item.price],
      ['plan', (item as unknown as { plan: unknown }).plan],
      ['checkout.session', checkout],
      ['billing_portal.session', portal],
      ['invoice', invoices.data[0]],
      ['price', price],
      ['event', event],
      ['checkout.session', (event as Json).data.object],
      ['deleted_customer', deleted],
    ]
    const problems = answers.flatMap(([resource, object]) =>
      shapeProblems(resource, wire(object)).map((p) => `${resource}: ${p}`),
    )
    expect(problems).toEqual([])
    expect(invoices).toMatchObject({ object: 'list', has_more: false, url: '/v1/invoices' })
  })

  it('lets null stand only where Stripe’s own types say the field is nullable', () => {
    for (const { types, fields } of Object.values(NULLABLE)) {
      const declarations = readFileSync(
        join(import.meta.dir, `../../node_modules/stripe/esm/resources/${types}.d.ts`),
        'utf8',
      )
      for (const field of fields)
        expect({
          types,
          field,
          nullable: new RegExp(`\\n {4}${field}\\??: [^;]*\\| null;`).test(declarations),
        }).toEqual({
          types,
          field,
          nullable: true,
        })
    }
  })

  it('would notice a dropped field', () => {
    const customer = em.createCustomer({ email: 'drop@example.com' })
    const { balance: _dropped, ...withoutBalance } = customer
    expect(shapeProblems('customer', withoutBalance)).toEqual(['missing balance'])
    // null only where nullable: a number field answered null is a problem.
    expect(shapeProblems('customer', { ...customer, balance: null })).toEqual(['balance is null, not number'])
    expect(shapeProblems('customer', { ...customer, delinquent: 'no' })).toEqual([
      'delinquent is string, not boolean',
    ])
  })

  it('pages lists with limit and starting_after, and answers errors in Stripe’s error object', async () => {
    const customer = em.createCustomer({ email: 'pages@example.com' })
    for (let i = 0; i < 25; i++)
      em.createSubscription({ customer: customer.id, items: [{ price: 'price_monthly' }], status: 'active' })
    const first = await stripe.subscriptions.list({ customer: customer.id, limit: 10 })
    expect(first).toMatchObject({ object: 'list', has_more: true, url: '/v1/subscriptions' })
    expect(first.data).toHaveLength(10)
    const second = await stripe.subscriptions.list({
      customer: customer.id,
      limit: 10,
      starting_after: first.data.at(-1)?.id,
    })
    expect(second.data.map((s) => s.id)).not.toContain(first.data[0]?.id)
    const all = await stripe.subscriptions
      .list({ customer: customer.id, limit: 10 })
      .autoPagingToArray({ limit: 100 })
    expect(new Set(all.map((s) => s.id)).size).toBe(25)

    const error = (await stripe.customers.retrieve('cus_nope').catch((e) => e)) as Stripe.errors.StripeError
    expect(error.type).toBe('StripeInvalidRequestError')
    expect(error.code).toBe('resource_missing')
    expect(error.param).toBe('id')
    expect(error.statusCode).toBe(404)
    expect(error.raw).toMatchObject({
      type: 'invalid_request_error',
      doc_url: 'https://stripe.com/docs/error-codes/resource-missing',
    })
    expect((error.raw as { request_log_url?: string }).request_log_url).toStartWith(
      'https://dashboard.stripe.com/test/logs/req_',
    )
  })

  it('speaks the API version the adapter pins', () => {
    expect(STRIPE_API_VERSION).toBe(EMULATED_API_VERSION)
    expect(em.event('ping', {}).api_version).toBe(STRIPE_API_VERSION)
  })

  it('serves fixtures that are a faithful copy of Stripe’s published ones', () => {
    // The image build runs the suite without ../shared beside it; where it is present, the vendored
    // subset must still equal it.
    const shared = join(import.meta.dir, '../../../shared/stripe/fixtures3.json')
    const published = existsSync(shared) ? JSON.parse(readFileSync(shared, 'utf8')).resources : null
    for (const resource of ['customer', 'subscription', 'invoice', 'event', 'checkout.session'] as const) {
      const vendored = fixtureOf(resource)
      expect(vendored.object).toBeString()
      if (published) expect(vendored).toEqual(published[resource])
    }
  })
})
