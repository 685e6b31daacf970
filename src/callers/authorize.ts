// Authorization: may this caller use this endpoint, with this action?
import type { Action } from '../config/load.js'
import type { Caller } from './caller.js'

export type Authorization = { ok: true } | { ok: false, message: string }

/**
 * Allowed when the caller lists the endpoint (or '*') and, when given, the endpoint's action.
 * The message is safe to send to the caller: it names only the caller, endpoint and action.
 */
export function authorize (caller: Caller, endpoint: string, action?: Action): Authorization {
  if (!caller.endpoints.has('*') && !caller.endpoints.has(endpoint)) {
    return { ok: false, message: `caller '${caller.name}' may not use endpoint '${endpoint}'` }
  }
  if (action !== undefined && !caller.actions.has(action)) {
    return { ok: false, message: `caller '${caller.name}' may not use action '${action}' on endpoint '${endpoint}'` }
  }
  return { ok: true }
}
