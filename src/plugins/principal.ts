import { Elysia } from 'elysia'
import type { Principal } from '../services/credentials'
import { stateOf } from './request-state'

/**
 * Gives handlers `principal`. Route modules `.use()` it for the type; Elysia applies a named
 * plugin once. Protected routes only run after bearer auth has set the principal, so handlers of
 * protected routes may rely on it being present.
 */
export const principalContext = new Elysia({ name: 'custodian/principal' }).derive(
  { as: 'global' },
  ({ request }) => ({
    principal: stateOf(request).principal as Principal,
  }),
)
