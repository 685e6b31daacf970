// The authenticated caller: what a configured caller may do, in the shape the gateway checks.
import type { Action, CallerConfig, CallerLimits as ConfigCallerLimits } from '../config/load.js'
import { DEFAULT_ACTIONS } from '../config/schema.js'

/**
 * A caller's limits, as configured (`callers[].limits`; burst defaults to ceil(requestsPerSecond));
 * fields the schema defaults may be absent in limits built in code.
 */
export type CallerLimits = Readonly<Partial<ConfigCallerLimits>>

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
    actions: new Set<Action>(c.actions ?? DEFAULT_ACTIONS),
    limits: c.limits
  })
}
