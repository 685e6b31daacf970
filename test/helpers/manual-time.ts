// Test fixture: a clock and timers that move only when a test says so, for the broker, limiters
// and breakers (their `now`/`monotonic`/`timers` options), so tests advance time instead of sleeping.
import type { Timer, Timers } from '../../src/time/timers.js'

export interface ManualTime {
  /** Wall clock in ms; starts at the real time, so JWT and token times look sane. */
  now: () => number
  /** The same clock, for the monotonic options. */
  monotonic: () => number
  timers: Timers
  /**
   * Moves the clock by `ms`, running the timers that fall due in time order (each at its own
   * instant), and lets promise chains settle after each one and at the end.
   */
  advance: (ms: number) => Promise<void>
  /** Timers scheduled and not yet run or cleared. */
  pending: () => number
}

interface Scheduled extends Timer {
  seq: number
  at: number
  fn: () => void
  every: number | undefined
}

/** Timers that ever fire in one advance(): a runaway interval is a test bug, not a hang. */
const MAX_FIRES = 100_000

/** Promise callbacks run before an immediate: one turn settles every ready chain. */
export function settle (): Promise<void> {
  return new Promise(resolve => setImmediate(resolve))
}

export function manualTime (start = Date.now()): ManualTime {
  let clock = start
  let seq = 0
  const scheduled = new Set<Scheduled>()
  const add = (fn: () => void, ms: number, every: boolean): Timer => {
    // As Node: a delay under 1 ms (or not a number) is 1 ms.
    const delay = Number.isFinite(ms) && ms >= 1 ? ms : 1
    const timer: Scheduled = { seq: seq++, at: clock + delay, fn, every: every ? delay : undefined, unref: () => timer }
    scheduled.add(timer)
    return timer
  }
  const clear = (timer: Timer | undefined): void => {
    const s = timer as Scheduled | undefined
    if (s === undefined || !scheduled.has(s)) return
    scheduled.delete(s)
  }
  const next = (until: number): Scheduled | undefined => {
    let first: Scheduled | undefined
    for (const s of scheduled) {
      if (s.at <= until && (first === undefined || s.at < first.at || (s.at === first.at && s.seq < first.seq))) first = s
    }
    return first
  }
  return {
    now: () => clock,
    monotonic: () => clock,
    timers: { setTimeout: (fn, ms) => add(fn, ms, false), clearTimeout: clear, setInterval: (fn, ms) => add(fn, ms, true), clearInterval: clear },
    async advance (ms) {
      if (!(ms >= 0)) throw new RangeError(`advance(${ms}): a duration >= 0`)
      await settle()
      const until = clock + ms
      for (let fired = 0; ; fired++) {
        if (fired >= MAX_FIRES) throw new Error(`more than ${MAX_FIRES} timers fired in one advance(${ms})`)
        const due = next(until)
        if (due === undefined) break
        clock = due.at
        if (due.every === undefined) scheduled.delete(due)
        else due.at += due.every
        due.fn()
        await settle()
      }
      clock = until
      await settle()
    },
    pending: () => scheduled.size
  }
}

/**
 * Advances `time` in `stepMs` steps until `promise` settles, and returns (or throws) its outcome:
 * for calls that wait on a timer before answering. Fails once `limitMs` of clock time passed.
 */
export async function runUntilSettled<T> (time: ManualTime, promise: Promise<T>, stepMs = 100, limitMs = 60_000): Promise<T> {
  const state = { settled: false }
  const tracked = promise.finally(() => { state.settled = true })
  tracked.catch(() => {})
  for (let waited = 0; !state.settled; waited += stepMs) {
    if (waited > limitMs) throw new Error(`still pending after ${limitMs} ms of clock time`)
    await time.advance(waited === 0 ? 0 : stepMs)
  }
  return await tracked
}
