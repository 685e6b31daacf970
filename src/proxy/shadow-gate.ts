// Which requests get a shadow copy: a sample by percent, skipped (never queued) when too many
// shadows are running or the body is too large to copy (docs/beyond.md "Shadow traffic").

export interface ShadowGateOptions {
  /** Share of requests sampled, 0–100. */
  percent: number
  /** Most shadow requests running at once; one more is skipped. */
  maxInFlight: number
  /** Largest body copied to the shadow; a larger one is skipped. */
  maxBodyBytes: number
  /** Uniform in [0, 1): Math.random unless a test fixes it. */
  random?: () => number
}

/** Why a request got no shadow (`unsampled` is not counted: it is the sampling itself). */
export type ShadowSkip = 'unsampled' | 'skipped_size' | 'skipped_busy'

/** A shadow admitted (`release` when it ends, once), or why not. */
export type ShadowDecision = { send: true, release: () => void } | { send: false, why: ShadowSkip }

export interface ShadowGate {
  /** Decides for one request whose body has `bodyBytes` bytes (undefined: not held whole, so not copyable). */
  admit: (bodyBytes: number | undefined) => ShadowDecision
  /** Shadows running now. */
  readonly inFlight: number
}

export function createShadowGate (opts: ShadowGateOptions): ShadowGate {
  if (!(opts.percent >= 0 && opts.percent <= 100)) throw new TypeError('shadow gate: percent must be within 0-100')
  if (!Number.isInteger(opts.maxInFlight) || opts.maxInFlight < 1) throw new TypeError('shadow gate: maxInFlight must be a positive integer')
  const random = opts.random ?? Math.random
  let inFlight = 0
  return {
    get inFlight () { return inFlight },
    admit (bodyBytes) {
      if (random() * 100 >= opts.percent) return { send: false, why: 'unsampled' }
      if (bodyBytes === undefined || bodyBytes > opts.maxBodyBytes) return { send: false, why: 'skipped_size' }
      if (inFlight >= opts.maxInFlight) return { send: false, why: 'skipped_busy' }
      inFlight++
      let released = false
      return {
        send: true,
        release: () => {
          if (released) return
          released = true
          inFlight--
        }
      }
    }
  }
}
