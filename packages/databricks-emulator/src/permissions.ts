// Answers whether a principal holds an action on an endpoint.
import type { EmulatorAction, EmulatorPrincipal } from './types.js'

/** `manage_inference_endpoint` implies `query_inference_endpoint`, as CAN_MANAGE implies CAN_QUERY. */
export function hasPermission (principal: EmulatorPrincipal, endpointName: string, action: EmulatorAction): boolean {
  return principal.permissions.some(p =>
    (p.endpoint === '*' || p.endpoint === endpointName) &&
    (p.actions.includes(action) || (action === 'query_inference_endpoint' && p.actions.includes('manage_inference_endpoint'))))
}

/** The Permissions-API level shown as `permission_level`, or undefined without any grant. */
export function permissionLevel (principal: EmulatorPrincipal, endpointName: string): 'CAN_MANAGE' | 'CAN_QUERY' | undefined {
  if (hasPermission(principal, endpointName, 'manage_inference_endpoint')) return 'CAN_MANAGE'
  if (hasPermission(principal, endpointName, 'query_inference_endpoint')) return 'CAN_QUERY'
  return undefined
}
