import { slugify } from '../lib/slug'

/**
 * Slugs no app may take: names the hosting and the API use themselves, and words that would let
 * an app pass for the platform. The one place this list lives.
 */
export const RESERVED_SLUGS: ReadonlySet<string> = new Set([
  'admin',
  'api',
  'www',
  'app',
  'apps',
  'docs',
  'help',
  'support',
  'status',
  'mail',
  'blog',
  'static',
  'assets',
  'cdn',
  'dashboard',
  'login',
  'signup',
  'account',
  'billing',
  'sites',
  'files',
  'internal',
  'metrics',
  'healthz',
  'readyz',
  'v1',
  'well-known',
  'security',
  'privacy',
  'terms',
  'root',
  'system',
])

/** 1–63 characters, lower-case letters, digits and single inner hyphens. */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/

/** Why a client-chosen slug is malformed, or null when it is well-formed. */
export function slugProblem(slug: string): string | null {
  if (slug.length < 1 || slug.length > 63) return 'must be 1–63 characters'
  if (!SLUG_PATTERN.test(slug))
    return 'may contain only lower-case letters, digits and hyphens, not at either end'
  if (slug.includes('--')) return 'may not contain two hyphens in a row'
  return null
}

export const isReservedSlug = (slug: string) => RESERVED_SLUGS.has(slug)

/** The base slug for an app name: folded, lower-case, never empty, room left for "-NN". */
export function baseSlug(appName: string): string {
  return slugify(appName, 58) || 'my-app'
}
