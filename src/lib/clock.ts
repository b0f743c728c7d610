/** Time comes from here, never from Date.now() in services, so tests can move it. */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** A clock tests move by hand (no sleeping on real time). */
export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2026, 0, 15, 12, 0, 0)) {}
  now() {
    return this.current
  }
  advance(ms: number) {
    this.current += ms
    return this.current
  }
  set(ms: number) {
    this.current = ms
  }
}

export const SECOND = 1000
export const MINUTE = 60 * SECOND
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR
