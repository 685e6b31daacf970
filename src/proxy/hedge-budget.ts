// Hedging's two numbers for one endpoint: when to send a second attempt (a fixed delay or the
// rolling p95 of recent answers) and whether the budget allows it (at most maxPercent of the
// requests of a sliding window, none when most requests would hedge). docs/beyond.md "Hedging".

export interface HedgeBudgetOptions {
  /** Fixed delay before a hedge, or 'p95': the endpoint's rolling p95 latency. */
  after: number | 'p95'
  /** Hedges allowed, as a percentage of the window's requests. */
  maxPercent: number
  /** Monotonic clock in ms. */
  now: () => number
  /** The sliding window (default 10 s), kept in 10 buckets. */
  windowMs?: number
  /** Latencies kept for the p95 (default 1000), and fewest before a p95 is trusted (default 20). */
  samples?: number
  minSamples?: number
}

/** Why a wanted hedge was not sent (all counted as `budget_exhausted`). */
export type HedgeRefusal = 'over_budget' | 'most_would_hedge'

export interface HedgeBudget {
  /** Counts one request; call once per request that could hedge. */
  request: () => void
  /** The delay before this request's hedge, or undefined while no p95 is known yet. */
  delayMs: () => number | undefined
  /** A request passed its delay: true (and counted as a hedge) when the budget allows one. */
  tryHedge: () => true | HedgeRefusal
  /** An answer's latency (ms from dispatch to response headers), for the p95. */
  observe: (ms: number) => void
}

const BUCKETS = 10

export function createHedgeBudget (opts: HedgeBudgetOptions): HedgeBudget {
  const windowMs = opts.windowMs ?? 10_000
  const bucketMs = windowMs / BUCKETS
  if (!(opts.maxPercent > 0 && opts.maxPercent <= 100)) throw new TypeError('hedge budget: maxPercent must be within (0, 100]')
  const requests = new Float64Array(BUCKETS)
  const wanted = new Float64Array(BUCKETS)
  const hedges = new Float64Array(BUCKETS)
  let epoch = Math.floor(opts.now() / bucketMs)
  const latency = createLatencyWindow(opts.samples ?? 1000)
  const minSamples = opts.minSamples ?? 20

  /** Moves the window to now, emptying the buckets that fell out of it. */
  function advance (): number {
    const e = Math.floor(opts.now() / bucketMs)
    const steps = Math.min(e - epoch, BUCKETS)
    for (let i = 1; i <= steps; i++) {
      const b = (epoch + i) % BUCKETS
      requests[b] = 0
      wanted[b] = 0
      hedges[b] = 0
    }
    if (e > epoch) epoch = e
    return epoch % BUCKETS
  }
  const sum = (a: Float64Array): number => a.reduce((x, y) => x + y, 0)

  return {
    request () {
      const b = advance()
      requests[b] = (requests[b] as number) + 1
    },
    delayMs () {
      if (opts.after !== 'p95') return opts.after
      return latency.count >= minSamples ? latency.quantile(0.95) : undefined
    },
    tryHedge () {
      const b = advance()
      wanted[b] = (wanted[b] as number) + 1
      const total = sum(requests)
      // An endpoint slow for everyone gains nothing from a second attempt: it only doubles its load.
      if (sum(wanted) * 2 > total) return 'most_would_hedge'
      if (sum(hedges) + 1 > total * opts.maxPercent / 100) return 'over_budget'
      hedges[b] = (hedges[b] as number) + 1
      return true
    },
    observe (ms) { latency.push(ms) }
  }
}

export interface LatencyWindow {
  push: (ms: number) => void
  /** The q-quantile of the kept samples (0 when there are none). */
  quantile: (q: number) => number
  readonly count: number
}

/**
 * The last `size` latencies in a ring; a quantile sorts a copy, at most once per size/10 new
 * samples (the value is reused in between), so the request path pays a sort rarely.
 */
export function createLatencyWindow (size: number): LatencyWindow {
  const ring = new Float64Array(size)
  let count = 0
  let next = 0
  let sorted: Float64Array | undefined
  let sinceSort = 0
  const resortEvery = Math.max(1, Math.floor(size / 10))
  return {
    get count () { return count },
    push (ms) {
      if (!Number.isFinite(ms) || ms < 0) return
      ring[next] = ms
      next = (next + 1) % size
      if (count < size) count++
      sinceSort++
    },
    quantile (q) {
      if (count === 0) return 0
      if (sorted === undefined || sinceSort >= resortEvery || sorted.length !== count) {
        sorted = ring.slice(0, count).sort()
        sinceSort = 0
      }
      const i = Math.min(count - 1, Math.max(0, Math.ceil(q * count) - 1))
      return sorted[i] as number
    }
  }
}

/**
 * Whether a request body asks for a streamed answer (`"stream": true`, as the OpenAI-compatible
 * and chat bodies say it): such a request is never hedged, since a stream cannot be raced.
 */
export function asksForStream (body: Buffer): boolean {
  return /"stream"\s*:\s*true/.test(body.toString('latin1'))
}
