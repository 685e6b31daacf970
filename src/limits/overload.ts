// Load shedding: is the event loop so delayed that new work should be refused (503)?
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { realTimers, type Timer, type Timers } from '../time/timers.js'

export interface OverloadGuardOptions {
  /** Overloaded while the recent p99 event-loop delay exceeds this (`server.maxEventLoopDelayMs`); 0 disables. */
  maxEventLoopDelayMs: number
  /** Sampling resolution of the delay monitor, in ms; default 10. */
  resolutionMs?: number | undefined
  /** Length of a measurement window, in ms; default 1000. */
  windowMs?: number | undefined
  /** Monotonic clock in ms; default performance.now. */
  now?: (() => number) | undefined
  /** The window timer runs on these; default Node's. */
  timers?: Timers | undefined
  /** Starts the delay monitor; default node:perf_hooks monitorEventLoopDelay. */
  monitor?: ((resolutionMs: number) => DelayHistogram) | undefined
}

/** What the guard reads of node:perf_hooks' IntervalHistogram (nanoseconds). */
export interface DelayHistogram {
  readonly count: number
  readonly max: number
  percentile: (p: number) => number
  reset: () => void
  disable: () => unknown
}

export interface EventLoopDelay {
  /** p99 and max delay of the last complete window, in ms. */
  p99Ms: number
  maxMs: number
}

/**
 * Watches event-loop delay over short windows: the histogram is reset every windowMs and the
 * last window's p99 is kept, so a past spike stops counting after one window, and a stall that
 * is happening now counts at once (the current window is read too).
 */
export class OverloadGuard {
  readonly #max: number
  readonly #histogram: DelayHistogram | undefined
  readonly #timers: Timers
  readonly #now: () => number
  readonly #timer: Timer | undefined
  #last: EventLoopDelay = { p99Ms: 0, maxMs: 0 }
  #resolution = 10
  #checkedAt = -Infinity
  #overloaded = false

  constructor (opts: OverloadGuardOptions) {
    const { maxEventLoopDelayMs } = opts
    if (!Number.isFinite(maxEventLoopDelayMs) || maxEventLoopDelayMs < 0) throw new TypeError('maxEventLoopDelayMs must be a number >= 0')
    this.#max = maxEventLoopDelayMs
    this.#timers = opts.timers ?? realTimers
    this.#now = opts.now ?? (() => performance.now())
    if (maxEventLoopDelayMs === 0) return
    const resolution = opts.resolutionMs ?? 10
    this.#resolution = resolution
    const windowMs = opts.windowMs ?? 1000
    if (!Number.isInteger(resolution) || resolution < 1) throw new TypeError('resolutionMs must be an integer >= 1')
    if (!(windowMs > 0)) throw new TypeError('windowMs must be > 0')
    this.#histogram = (opts.monitor ?? startMonitor)(resolution)
    const h = this.#histogram
    this.#timer = this.#timers.setInterval(() => {
      this.#last = read(h)
      h.reset()
    }, windowMs)
    // A monitor must not keep the process alive.
    this.#timer.unref()
  }

  overloaded (): boolean {
    if (this.#histogram === undefined) return false
    // Computing a percentile per request cost more than the rest of admission together: the
    // answer is kept for one sampling interval, within which the histogram cannot change much.
    const now = this.#now()
    if (now - this.#checkedAt >= this.#resolution) {
      this.#checkedAt = now
      this.#overloaded = Math.max(this.#last.p99Ms, read(this.#histogram).p99Ms) > this.#max
    }
    return this.#overloaded
  }

  /** The last complete window's delays (e.g. for a gauge); zeros when disabled. */
  delay (): EventLoopDelay {
    return { ...this.#last }
  }

  close (): void {
    this.#timers.clearInterval(this.#timer)
    this.#histogram?.disable()
  }
}

function startMonitor (resolution: number): DelayHistogram {
  const h = monitorEventLoopDelay({ resolution })
  h.enable()
  return h
}

function read (h: DelayHistogram): EventLoopDelay {
  // The histogram counts nanoseconds; with no sample yet its min/max are sentinel values.
  if (h.count === 0) return { p99Ms: 0, maxMs: 0 }
  return { p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6 }
}

export function createOverloadGuard (opts: OverloadGuardOptions): OverloadGuard {
  return new OverloadGuard(opts)
}
