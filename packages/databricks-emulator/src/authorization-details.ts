// Parses and checks OAuth `authorization_details` for serving endpoints (README, Token endpoint).
import type { EmulatorAction, EmulatorEndpointInfo, EmulatorPrincipal } from './types.js'
import { EMULATOR_ACTIONS } from './types.js'
import { hasPermission } from './permissions.js'

export interface AuthorizationDetail {
  type: 'workspace_permission'
  object_type: 'serving-endpoints'
  object_path: string
  actions: EmulatorAction[]
}

export const OBJECT_PATH_PREFIX = '/serving-endpoints/'

export type ParseResult =
  | { ok: true, details: AuthorizationDetail[] }
  | { ok: false, error: 'invalid_request' | 'invalid_authorization_details', description: string }

const UNAUTHORIZED = 'User is not authorized to the requested authorizations'

/** The details a route-optimized endpoint advertises in `data_plane_info.query_info`. */
export function queryDetailsFor (endpointId: string): AuthorizationDetail[] {
  return [{
    type: 'workspace_permission',
    object_type: 'serving-endpoints',
    object_path: OBJECT_PATH_PREFIX + endpointId,
    actions: ['query_inference_endpoint']
  }]
}

/**
 * Parses the form value and checks every entry against the endpoints and the principal's grants.
 * Shape errors are `invalid_request`; an unknown endpoint id (a name is unknown too) or a missing
 * grant is `invalid_authorization_details`, as the real token endpoint answers.
 */
export function parseAuthorizationDetails (
  raw: string,
  principal: EmulatorPrincipal,
  endpoints: Record<string, EmulatorEndpointInfo>
): ParseResult {
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    return invalid('authorization_details must be a JSON array')
  }
  if (!Array.isArray(value) || value.length === 0) return invalid('authorization_details must be a nonempty JSON array')

  const details: AuthorizationDetail[] = []
  for (const entry of value as unknown[]) {
    const detail = shapeOf(entry)
    if (typeof detail === 'string') return invalid(detail)
    const endpoint = endpointById(endpoints, detail.object_path.slice(OBJECT_PATH_PREFIX.length))
    if (endpoint === undefined || !detail.actions.every(a => hasPermission(principal, endpoint.name, a))) {
      return { ok: false, error: 'invalid_authorization_details', description: UNAUTHORIZED }
    }
    details.push(detail)
  }
  return { ok: true, details }
}

/** The stats keys `${endpointId}:${action}` a token's details cover. */
export function scopeKeys (details: AuthorizationDetail[] | undefined): string[] {
  if (details === undefined) return ['workspace']
  return details.flatMap(d => d.actions.map(a => `${d.object_path.slice(OBJECT_PATH_PREFIX.length)}:${a}`))
}

/** Whether the details let their bearer query the endpoint with this id (manage implies query). */
export function allowsQuery (details: AuthorizationDetail[], endpointId: string): boolean {
  return details.some(d => d.object_path === OBJECT_PATH_PREFIX + endpointId && d.actions.length > 0)
}

export function endpointById (endpoints: Record<string, EmulatorEndpointInfo>, id: string): EmulatorEndpointInfo | undefined {
  return Object.values(endpoints).find(e => e.id === id)
}

function shapeOf (entry: unknown): AuthorizationDetail | string {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'each authorization_details entry must be an object'
  const e = entry as Record<string, unknown>
  if (e.type !== 'workspace_permission') return `unsupported authorization_details type ${JSON.stringify(e.type)}`
  if (e.object_type !== 'serving-endpoints') return `unsupported object_type ${JSON.stringify(e.object_type)}`
  if (typeof e.object_path !== 'string' || !e.object_path.startsWith(OBJECT_PATH_PREFIX) ||
      e.object_path.length === OBJECT_PATH_PREFIX.length || e.object_path.indexOf('/', OBJECT_PATH_PREFIX.length) !== -1) {
    return `object_path must be ${OBJECT_PATH_PREFIX}<endpoint id>`
  }
  const actions = e.actions
  if (!Array.isArray(actions) || actions.length === 0 ||
      !actions.every(a => (EMULATOR_ACTIONS as readonly unknown[]).includes(a))) {
    return `actions must be a nonempty subset of ${EMULATOR_ACTIONS.join(', ')}`
  }
  return { type: 'workspace_permission', object_type: 'serving-endpoints', object_path: e.object_path, actions: [...new Set(actions as EmulatorAction[])] }
}

function invalid (description: string): ParseResult {
  return { ok: false, error: 'invalid_request', description }
}
