import type { Store } from '../../db/client'
import type { Config } from '../config'

/** Placeholder until the erasure worker lands: reports that there was nothing to do. */
export async function runPurgeOnce(_config: Config, _store: Store) {
  return { hardDeleted: 0, resumed: 0, idempotencyKeysReaped: 0 }
}
