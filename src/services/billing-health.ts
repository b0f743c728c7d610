import type { BillingHealth, BillingPort } from '../billing/port'
import type { Logger } from '../lib/logger'

/**
 * Asks Stripe once, at start-up, whether it accepts STRIPE_SECRET_KEY — so a wrong key is the
 * operator's error in the log and in /readyz, not the first user's "Stripe refused our API key".
 */
export async function checkBillingCredentials(deps: {
  billing: BillingPort | null
  billingHealth: BillingHealth
  logger: Logger
}) {
  if (!deps.billing) return
  deps.billingHealth.state = await deps.billing.checkCredentials()
  if (deps.billingHealth.state === 'refused')
    deps.logger.error(
      'Stripe refused STRIPE_SECRET_KEY: billing calls will fail; /readyz answers 503 until the key is fixed and the server restarted',
    )
  else if (deps.billingHealth.state === 'unreachable')
    deps.logger.warn('Stripe could not be reached to check STRIPE_SECRET_KEY at start-up')
}
