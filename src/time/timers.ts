// Timers as a dependency: what the broker, limiters and breakers schedule goes through one
// object, so tests pass a manual one (test/helpers/manual-time.ts) and move time instead of sleeping.

/** A scheduled callback; unref() lets the process exit while it is pending (as Node's own timers). */
export interface Timer {
  unref: () => unknown
}

/** setTimeout/setInterval and their clear functions; `realTimers` are Node's. */
export interface Timers {
  setTimeout: (fn: () => void, ms: number) => Timer
  clearTimeout: (timer: Timer | undefined) => void
  setInterval: (fn: () => void, ms: number) => Timer
  clearInterval: (timer: Timer | undefined) => void
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => { clearTimeout(timer as NodeJS.Timeout | undefined) },
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (timer) => { clearInterval(timer as NodeJS.Timeout | undefined) }
}
