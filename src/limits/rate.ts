// Per-caller rate limits: one token bucket per caller name.
import type { CallerLimits } from '../callers/caller.js'

export type RateResult = { ok: true } | { ok: false, retryAfterSeconds: number }

export interface RateLimiterOptions {
  /** Monotonic clock in ms; default performance.now (immune to wall-clock jumps). */
  now?: (() => number) | undefined
}

interface Bucket { tokens: number, at: number }

/**
 * Token buckets keyed by caller name. Memory is bounded because names are configured callers
 * (authenticated before take() is called), never request input.
 */
export class RateLimiter {
  readonly #now: () => number
  readonly #buckets = new Map<string, Bucket>()

  constructor (opts: RateLimiterOptions = {}) {
    this.#now = opts.now ?? (() => performance.now())
  }

  /**
   * Takes one request from `name`'s bucket. Without `requestsPerSecond` there is no limit. The
   * bucket holds `burst` (default ceil(requestsPerSecond)) and refills at requestsPerSecond;
   * limits are read at every call, so a changed config applies at once.
   */
  take (name: string, limits: CallerLimits | undefined): RateResult {
    const rps = limits?.requestsPerSecond
    if (rps === undefined || !(rps > 0)) return { ok: true }
    const burst = limits?.burst ?? Math.ceil(rps)
    const now = this.#now()
    let b = this.#buckets.get(name)
    if (b === undefined) {
      b = { tokens: burst, at: now }
      this.#buckets.set(name, b)
    }
    b.tokens = Math.min(burst, b.tokens + Math.max(0, now - b.at) * rps / 1000)
    b.at = now
    if (b.tokens >= 1) {
      b.tokens -= 1
      return { ok: true }
    }
    // Retry-After takes whole seconds (RFC 9110 §10.2.3): round up, and never say 0.
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / rps)) }
  }
}

export function createRateLimiter (opts?: RateLimiterOptions): RateLimiter {
  return new RateLimiter(opts)
}
