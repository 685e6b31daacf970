// The in-process limiter: the bucket decision (buckets.ts) over a Map, for a gateway without a
// store (every limit per replica) and for the store's `onStoreFailure: local` fallback.
import { decide, type BucketSpec, type BucketState, type Decision } from './buckets.js'

export interface LocalLimiter {
  /** Decides (and debits) `specs` at once; `force` debits whatever the levels (reconciling). */
  decide: (specs: readonly BucketSpec[], force?: boolean) => Decision
}

/**
 * `now` is a monotonic clock in ms. Keys are configured scope names and windows, so the map is
 * bounded by the config (a bucket of a removed caller stays until restart: a few bytes each).
 */
export function createLocalLimiter (now: () => number): LocalLimiter {
  const states = new Map<string, BucketState>()
  return {
    decide (specs, force = false) {
      const t = now()
      const d = decide(specs, specs.map(s => states.get(s.key)), t, force)
      d.next.forEach((state, i) => { if (state !== undefined) states.set((specs[i] as BucketSpec).key, state) })
      return { admitted: d.admitted, outcomes: d.outcomes }
    }
  }
}
