// Continuously refilling buckets, as pure functions: which buckets a request takes from (its
// caller's and its endpoint's limits) and the all-or-nothing decision over them. The in-process
// limiter (local.ts) runs this code; the store's Lua script (store/lua.ts) is the same arithmetic
// in Redis, so a limit means the same with and without a store (docs/governance.md).
import type { CallerLimits } from '../config/schema.js'

export type Scope = 'caller' | 'endpoint'
export type Window = 'second' | 'minute' | 'tokensMinute' | 'tokensDay'

/** What a bucket is: its capacity, its refill rate (units per ms) and what this request costs. */
export interface BucketSpec {
  /** Store/map key: scope, name and window (configured names only: never a caller key). */
  key: string
  scope: Scope
  window: Window
  capacity: number
  perMs: number
  cost: number
  /** Shadow mode: a bucket that cannot pay is counted, never refuses. */
  shadow: boolean
}

export interface BucketState { level: number, at: number }

export interface BucketOutcome {
  /** Whether it could pay its cost (always true when forced). */
  fits: boolean
  /** Its level after the decision (may be negative after a forced debit). */
  level: number
  /** ms until it could pay its cost (0 when it fits). */
  waitMs: number
}

export interface Decision {
  /** No enforced bucket refused: every bucket that fits was debited. */
  admitted: boolean
  outcomes: BucketOutcome[]
}

const MINUTE = 60_000
const DAY = 86_400_000

/** The limits a scope can have (callers[].limits and endpoints[].limits share these). */
export type ScopeLimits = Partial<Pick<CallerLimits, 'requestsPerSecond' | 'burst' | 'requestsPerMinute' | 'tokensPerMinute' | 'tokensPerDay' | 'mode'>>

/**
 * The buckets one request takes from in one scope: requests (per second with burst, per minute)
 * always; tokens (per minute, per day) only when `tokens` is given (the OpenAI routes), costing
 * that reservation. `divide` spreads a limit over live replicas (onStoreFailure: local).
 */
export function bucketsFor (scope: Scope, name: string, limits: ScopeLimits | undefined, tokens: number | undefined, divide = 1): BucketSpec[] {
  if (limits === undefined) return []
  const out: BucketSpec[] = []
  const shadow = limits.mode === 'shadow'
  const add = (window: Window, capacity: number, periodMs: number, cost: number): void => {
    out.push({ key: `${scope}:${name}:${window}`, scope, window, capacity: capacity / divide, perMs: capacity / periodMs / divide, cost, shadow })
  }
  const rps = limits.requestsPerSecond
  if (rps !== undefined && rps > 0) {
    const burst = limits.burst ?? Math.ceil(rps)
    out.push({ key: `${scope}:${name}:second`, scope, window: 'second', capacity: burst / divide, perMs: rps / 1000 / divide, cost: 1, shadow })
  }
  if (limits.requestsPerMinute !== undefined) add('minute', limits.requestsPerMinute, MINUTE, 1)
  if (tokens !== undefined) {
    // A reservation is at most the bucket's capacity: one request's estimate (a huge max_tokens)
    // can then empty a budget but never drive it below zero and lock every caller out for hours;
    // the answer's usage settles what was really spent.
    if (limits.tokensPerMinute !== undefined) add('tokensMinute', limits.tokensPerMinute, MINUTE, Math.min(tokens, limits.tokensPerMinute / divide))
    if (limits.tokensPerDay !== undefined) add('tokensDay', limits.tokensPerDay, DAY, Math.min(tokens, limits.tokensPerDay / divide))
  }
  return out
}

/** A bucket's level at `now`: full when never used, else refilled since it was last touched. */
export function levelAt (state: BucketState | undefined, spec: Pick<BucketSpec, 'capacity' | 'perMs'>, now: number): number {
  if (state === undefined) return spec.capacity
  return Math.min(spec.capacity, state.level + Math.max(0, now - state.at) * spec.perMs)
}

/**
 * The all-or-nothing decision: refused when any enforced bucket cannot pay; otherwise every
 * bucket that can pay is debited (a shadow bucket that cannot is left alone and reported). A cost
 * above a bucket's capacity needs a full bucket (it can never be paid otherwise) and takes it
 * below zero. `force` debits every bucket whatever its level (reconciling actual token usage).
 * Returns the decision and the states to write back (undefined: untouched).
 */
export function decide (specs: readonly BucketSpec[], states: ReadonlyArray<BucketState | undefined>, now: number, force = false): Decision & { next: Array<BucketState | undefined> } {
  const levels = specs.map((s, i) => levelAt(states[i], s, now))
  const fits = specs.map((s, i) => force || (levels[i] as number) >= Math.min(s.cost, s.capacity))
  const admitted = specs.every((s, i) => fits[i] === true || s.shadow)
  const outcomes: BucketOutcome[] = []
  const next: Array<BucketState | undefined> = []
  specs.forEach((s, i) => {
    let level = levels[i] as number
    const ok = fits[i] as boolean
    if (admitted && ok) {
      level = Math.min(s.capacity, level - s.cost)
      next.push({ level, at: now })
    } else {
      next.push(undefined)
    }
    outcomes.push({ fits: ok, level, waitMs: ok ? 0 : Math.ceil((Math.min(s.cost, s.capacity) - level) / s.perMs) })
  })
  return { admitted, outcomes, next }
}

/** ms until a bucket at `level` is full again. */
export function msToFull (spec: Pick<BucketSpec, 'capacity' | 'perMs'>, level: number): number {
  return Math.max(0, Math.ceil((spec.capacity - level) / spec.perMs))
}
