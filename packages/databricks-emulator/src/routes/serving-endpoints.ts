// Control plane: GET /api/2.0/serving-endpoints[/:name] in the ServingEndpointDetailed shape (README, Control plane).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { EmulatorContext } from '../context.js'
import type { EmulatorEndpointInfo, EmulatorPrincipal } from '../types.js'
import { queryDetailsFor } from '../authorization-details.js'
import { checkBearer } from '../bearer.js'
import { baseUrl, dataPlaneUrl, endpointByName } from '../context.js'
import { API_ERROR_CODES, sendApiError } from '../errors.js'
import { permissionLevel } from '../permissions.js'

export function servingEndpointRoutes (ctx: EmulatorContext) {
  return async function routegateEmulatorControlPlane (app: FastifyInstance): Promise<void> {
    app.addHook('onRequest', async () => { ctx.stats.controlPlaneRequest() })

    app.get('/api/2.0/serving-endpoints', async (request, reply) => {
      const principal = authenticate(ctx, request, reply)
      if (principal === undefined) return reply
      const base = baseUrl(request)
      return {
        endpoints: Object.values(ctx.endpoints)
          .filter(e => permissionLevel(principal, e.name) !== undefined)
          .map(e => describe(ctx, e, principal, base))
      }
    })

    app.get<{ Params: { name: string } }>('/api/2.0/serving-endpoints/:name', async (request, reply) => {
      const principal = authenticate(ctx, request, reply)
      if (principal === undefined) return reply
      const endpoint = endpointByName(ctx, request.params.name)
      if (endpoint === undefined) {
        return sendApiError(reply, 404, API_ERROR_CODES.resourceDoesNotExist, `Endpoint with name '${request.params.name}' does not exist.`)
      }
      if (permissionLevel(principal, endpoint.name) === undefined) {
        return sendApiError(reply, 403, API_ERROR_CODES.permissionDenied, `User does not have permission to view serving endpoint '${endpoint.name}'.`)
      }
      return describe(ctx, endpoint, principal, baseUrl(request))
    })
  }
}

/**
 * Workspace APIs take unscoped (all-apis) tokens only. A token in its last 30 s gets the documented
 * 403 "Token is expiring within 30 seconds" (databricks-vscode#583); unknown or expired ones get 401.
 */
function authenticate (ctx: EmulatorContext, request: FastifyRequest, reply: FastifyReply): EmulatorPrincipal | undefined {
  const check = checkBearer(request.headers.authorization, ctx.tokens, ctx.now())
  if (!check.ok) {
    if (check.reason === 'expiring') sendApiError(reply, 403, API_ERROR_CODES.permissionDenied, check.message)
    else sendApiError(reply, 401, API_ERROR_CODES.unauthenticated, check.message)
    return undefined
  }
  if (check.record.authorizationDetails !== undefined) {
    sendApiError(reply, 403, API_ERROR_CODES.permissionDenied, 'A token scoped by authorization_details cannot call workspace APIs.')
    return undefined
  }
  return check.record.principal
}

function describe (ctx: EmulatorContext, endpoint: EmulatorEndpointInfo, principal: EmulatorPrincipal, base: string): object {
  const url = dataPlaneUrl(base, ctx.workspaceId, endpoint.name)
  // Non-route-optimized endpoints carry neither endpoint_url nor data_plane_info (README, Control plane).
  const routing = endpoint.routeOptimized
    ? {
        endpoint_url: url,
        data_plane_info: { query_info: { endpoint_url: url, authorization_details: JSON.stringify(queryDetailsFor(endpoint.id)) } }
      }
    : {}
  return {
    name: endpoint.name,
    id: endpoint.id,
    creator: 'emulator@databricks.invalid',
    creation_timestamp: ctx.createdAt,
    last_updated_timestamp: ctx.createdAt,
    route_optimized: endpoint.routeOptimized,
    ...routing,
    state: { ready: endpoint.ready ? 'READY' : 'NOT_READY', config_update: 'NOT_UPDATING' },
    config: {
      served_entities: [{
        name: endpoint.servedModelName,
        entity_name: `main.default.${endpoint.name.replaceAll('-', '_')}`,
        entity_version: '1',
        workload_size: 'Small',
        scale_to_zero_enabled: true,
        state: endpoint.ready
          ? { deployment: 'DEPLOYMENT_READY', deployment_state_message: '' }
          : { deployment: 'DEPLOYMENT_CREATING', deployment_state_message: 'Creating served entity' }
      }],
      traffic_config: { routes: [{ served_model_name: endpoint.servedModelName, traffic_percentage: 100 }] },
      config_version: 1
    },
    permission_level: permissionLevel(principal, endpoint.name),
    task: null
  }
}
