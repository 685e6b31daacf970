// The authenticated caller: what a configured caller may do, in the shape the gateway checks.
import type { Action, CallerConfig } from '../config/load.js'

/** A caller's limits, as configured (`callers[].limits`). */
export interface CallerLimits {
  /** Token bucket: sustained requests per second. */
  readonly requestsPerSecond?: number | undefined
  /** Token bucket size; defaults to ceil(requestsPerSecond). */
  readonly burst?: number | undefined
  /** Most requests in progress at once. */
  readonly maxConcurrent?: number | undefined
}

export interface Caller {
  readonly name: string
  /** Endpoint names this caller may use; '*' means all. */
  readonly endpoints: ReadonlySet<string>
  /** Actions this caller may use (an endpoint's action must be among them). */
  readonly actions: ReadonlySet<Action>
  readonly limits?: CallerLimits | undefined
}

export function toCaller (c: CallerConfig): Caller {
  return Object.freeze({
    name: c.name,
    endpoints: new Set(c.endpoints),
    // Older configs built in code may omit actions: the schema's default applies.
    actions: new Set<Action>(c.actions ?? ['query_inference_endpoint']),
    limits: c.limits
  })
}
