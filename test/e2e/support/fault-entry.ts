// A test-only entry point, compiled into its own binary by the crash test: `custodian serve` with
// a deletion that stops for good right after recording TEST_PAUSE_AFTER_STEP, so the test can
// kill -9 the process between two steps. The product binary has no such switch.
import type { DeletionStep } from '../../../db/schema'
import { loadConfig } from '../../../src/config'
import { serve } from '../../../src/server'

const pauseAt = process.env.TEST_PAUSE_AFTER_STEP as DeletionStep | undefined
await serve(loadConfig(), {
  deletionFaults: {
    afterStep: (step) => (step === pauseAt ? new Promise<void>(() => {}) : Promise.resolve()),
  },
})
