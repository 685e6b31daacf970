// A per-endpoint circuit breaker over connect failures: after N in a row it fails fast for a
// while, then lets one probe through; a success closes it, a failure opens it again.

export type BreakerState = 'closed' | 'open' | 'half-open'

/** What allow() grants: false (fail fast), a request through a closed circuit, or the one probe. */
export type Permit = false | 'closed' | 'probe'

export interface BreakerOptions {
  failures: number
  openMs: number
  now?: () => number
  /** Called on every state change (metrics). */
  onChange?: (state: BreakerState) => void
}

export class CircuitBreaker {
  readonly #threshold: number
  readonly #openMs: number
  readonly #now: () => number
  readonly #onChange: (state: BreakerState) => void
  #failures = 0
  #state: BreakerState = 'closed'
  #openedAt = 0
  #probing = false

  constructor (opts: BreakerOptions) {
    this.#threshold = opts.failures
    this.#openMs = opts.openMs
    this.#now = opts.now ?? Date.now
    this.#onChange = opts.onChange ?? (() => {})
  }

  get state (): BreakerState { return this.#state }

  /** Failing fast right now: open and still inside the open period (an idle open circuit lapses). */
  get failingFast (): boolean {
    return this.#state === 'open' && this.#now() - this.#openedAt < this.#openMs
  }

  /**
   * Whether a request may go upstream now; in half-open state only one probe at a time. The
   * answer is the request's permit: `'probe'` for the one probe, which only its own release()
   * (or success/failure) frees.
   */
  allow (): Permit {
    if (this.#state === 'closed') return 'closed'
    if (this.#state === 'open') {
      if (this.#now() - this.#openedAt < this.#openMs) return false
      this.#set('half-open')
    }
    if (this.#probing) return false
    this.#probing = true
    return 'probe'
  }

  /** Seconds until the next probe may go, for Retry-After. */
  retryAfterSeconds (): number {
    return Math.max(1, Math.ceil((this.#openedAt + this.#openMs - this.#now()) / 1000))
  }

  /** The upstream answered (any status): the connection works. */
  success (): void {
    this.#failures = 0
    this.#probing = false
    if (this.#state !== 'closed') this.#set('closed')
  }

  /** Connecting failed (refused, reset before sending, connect timeout). */
  failure (): void {
    this.#failures++
    this.#probing = false
    if (this.#state === 'half-open' || (this.#state === 'closed' && this.#failures >= this.#threshold)) {
      this.#openedAt = this.#now()
      this.#set('open')
    }
  }

  /**
   * A request that was allowed ended without telling anything about the upstream (e.g. caller
   * left). Only the probe's own permit frees the probe slot: a request that started while the
   * circuit was closed must not let a second probe through.
   */
  release (permit: Permit = 'probe'): void {
    if (permit === 'probe') this.#probing = false
  }

  #set (state: BreakerState): void {
    this.#state = state
    this.#onChange(state)
  }
}
