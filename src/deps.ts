import type { Store } from '../db/client'
import type { Config } from './config'
import type { Clock } from './lib/clock'
import type { Logger } from './lib/logger'
import type { RateLimitStore } from './plugins/rate-limit/store'
import type { CredentialVerifier } from './services/credentials'

/** Everything the routes and plugins need, built once by createApp and passed down. */
export interface AppDeps {
  config: Config
  store: Store
  clock: Clock
  logger: Logger
  verifier: CredentialVerifier
  rateLimitStore: RateLimitStore
}
