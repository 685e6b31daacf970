// Per-caller concurrency limits: how many requests each caller has in progress.

/** Gives back the slot; calling it again does nothing. */
export type Release = () => void

/**
 * In-flight counters keyed by caller name. A name's entry is dropped when its count returns to
 * zero, so the map holds only callers with requests in progress.
 */
export class ConcurrencyLimiter {
  readonly #inFlight = new Map<string, number>()

  /**
   * Takes a slot for `name`, or returns undefined when `max` are already taken. Without `max`
   * the request is only counted. The caller must call the release function exactly when the
   * request ends (response finished or connection closed); extra calls are ignored.
   */
  acquire (name: string, max?: number | undefined): Release | undefined {
    const n = this.#inFlight.get(name) ?? 0
    if (max !== undefined && n >= max) return undefined
    this.#inFlight.set(name, n + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      // Present: this slot is counted in it until released, and it was not released yet.
      const left = (this.#inFlight.get(name) as number) - 1
      if (left > 0) this.#inFlight.set(name, left)
      else this.#inFlight.delete(name)
    }
  }

  /** Requests `name` has in progress. */
  inFlight (name: string): number {
    return this.#inFlight.get(name) ?? 0
  }
}

export function createConcurrencyLimiter (): ConcurrencyLimiter {
  return new ConcurrencyLimiter()
}
