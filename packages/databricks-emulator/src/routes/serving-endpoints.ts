// Control plane: create, get, list, update the config of, and delete serving endpoints, in the ServingEndpointDetailed shape (README, Control plane).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { EmulatorContext } from '../context.js'
import type { EmulatorEndpointInfo, EmulatorPrincipal, ServedEntityInfo } from '../types.js'
import { queryDetailsFor } from '../authorization-details.js'
import { checkBearer } from '../bearer.js'
import { baseUrl, dataPlaneUrl, endpointByName } from '../context.js'
import { checkName, checkServedEntities, ROUTE_OPTIMIZED_IMMUTABLE, settle } from '../endpoint-config.js'
import { API_ERROR_CODES, sendApiError } from '../errors.js'
import { resolveEndpoint } from '../options.js'
import { hasPermission, permissionLevel } from '../permissions.js'
import { randomHex } from '../random.js'

type Body = Record<string, unknown>

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
      const found = visible(ctx, request, reply, 'view')
      if (found === undefined) return reply
      return describe(ctx, found.endpoint, found.principal, baseUrl(request))
    })

    app.post<{ Body: unknown }>('/api/2.0/serving-endpoints', async (request, reply) => {
      const principal = authenticate(ctx, request, reply)
      if (principal === undefined) return reply
      // Creating needs the right to manage endpoints somewhere; the creator then manages this one.
      if (!principal.permissions.some(p => p.actions.includes('manage_inference_endpoint'))) {
        return sendApiError(reply, 403, API_ERROR_CODES.permissionDenied, 'User does not have permission to create serving endpoints.')
      }
      const body = objectBody(request.body)
      if (body === undefined) return invalid(reply, 'The request body must be a JSON object.')
      const name = checkName(body.name)
      if (!name.ok) return invalid(reply, name.message)
      if (endpointByName(ctx, name.value) !== undefined) {
        return sendApiError(reply, 409, API_ERROR_CODES.resourceAlreadyExists, `Endpoint with name '${name.value}' already exists.`)
      }
      const config = objectBody(body.config)
      if (config === undefined) return invalid(reply, 'config is required, with at least one served entity (config.served_entities).')
      const entities = checkServedEntities(config.served_entities)
      if (!entities.ok) return invalid(reply, entities.message)
      if (body.route_optimized !== undefined && typeof body.route_optimized !== 'boolean') return invalid(reply, 'route_optimized must be a boolean.')

      const now = ctx.now()
      const endpoint = create(ctx, name.value, entities.value, body.route_optimized === true, now, principal.clientId)
      ctx.endpoints[endpoint.name] = endpoint
      if (!hasPermission(principal, endpoint.name, 'manage_inference_endpoint')) {
        principal.permissions.push({ endpoint: endpoint.name, actions: ['manage_inference_endpoint'] })
      }
      settle(endpoint, now)
      return describe(ctx, endpoint, principal, baseUrl(request))
    })

    app.put<{ Params: { name: string }, Body: unknown }>('/api/2.0/serving-endpoints/:name/config', async (request, reply) => {
      const found = visible(ctx, request, reply, 'manage')
      if (found === undefined) return reply
      const { endpoint, principal } = found
      const body = objectBody(request.body)
      if (body === undefined) return invalid(reply, 'The request body must be a JSON object.')
      // Route optimization is chosen at creation only (Databricks docs "Route optimization on serving endpoints").
      if (body.route_optimized !== undefined && body.route_optimized !== endpoint.routeOptimized) return invalid(reply, ROUTE_OPTIMIZED_IMMUTABLE)
      if (endpoint.pending !== undefined) {
        return sendApiError(reply, 409, API_ERROR_CODES.resourceConflict, `Endpoint '${endpoint.name}' is already being updated; wait for config_update NOT_UPDATING.`)
      }
      const entities = checkServedEntities(body.served_entities)
      if (!entities.ok) return invalid(reply, entities.message)
      const now = ctx.now()
      endpoint.pending = { servedEntities: entities.value, configVersion: endpoint.configVersion + 1, at: now + ctx.readyDelayMs }
      settle(endpoint, now)
      return describe(ctx, endpoint, principal, baseUrl(request))
    })

    app.delete<{ Params: { name: string } }>('/api/2.0/serving-endpoints/:name', async (request, reply) => {
      const found = visible(ctx, request, reply, 'manage')
      if (found === undefined) return reply
      delete ctx.endpoints[found.endpoint.name]
      return {}
    })
  }
}

function create (ctx: EmulatorContext, name: string, entities: ServedEntityInfo[], routeOptimized: boolean, now: number, creator: string): EmulatorEndpointInfo {
  const first = entities[0] as ServedEntityInfo
  // A fresh random id per creation, like Databricks' 32-hex endpoint ids.
  const endpoint = resolveEndpoint({ name, routeOptimized, ready: false, servedModelName: first.name }, randomHex(16), {
    streamIntervalMs: ctx.streamIntervalMs,
    defaultMaxTokens: ctx.defaultMaxTokens,
    createdAt: now
  })
  endpoint.servedEntities = entities
  endpoint.creator = creator
  endpoint.readyAt = now + ctx.readyDelayMs
  return endpoint
}

function invalid (reply: FastifyReply, message: string): FastifyReply {
  return sendApiError(reply, 400, API_ERROR_CODES.invalidParameterValue, message)
}

function objectBody (value: unknown): Body | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Body : undefined
}

/** The named endpoint if the caller may see it (`view`) or manage it (`manage`); else the error is sent. */
function visible (
  ctx: EmulatorContext,
  request: FastifyRequest<{ Params: { name: string } }>,
  reply: FastifyReply,
  need: 'view' | 'manage'
): { endpoint: EmulatorEndpointInfo, principal: EmulatorPrincipal } | undefined {
  const principal = authenticate(ctx, request, reply)
  if (principal === undefined) return undefined
  const endpoint = endpointByName(ctx, request.params.name)
  if (endpoint === undefined) {
    sendApiError(reply, 404, API_ERROR_CODES.resourceDoesNotExist, `Endpoint with name '${request.params.name}' does not exist.`)
    return undefined
  }
  const allowed = need === 'view'
    ? permissionLevel(principal, endpoint.name) !== undefined
    : hasPermission(principal, endpoint.name, 'manage_inference_endpoint')
  if (!allowed) {
    sendApiError(reply, 403, API_ERROR_CODES.permissionDenied, `User does not have permission to ${need} serving endpoint '${endpoint.name}'.`)
    return undefined
  }
  return { endpoint, principal }
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

function describeEntities (entities: ServedEntityInfo[], ready: boolean): object {
  return {
    served_entities: entities.map(e => ({
      name: e.name,
      entity_name: e.entityName,
      ...(e.entityVersion === undefined ? {} : { entity_version: e.entityVersion }),
      workload_type: e.workloadType,
      workload_size: e.workloadSize,
      scale_to_zero_enabled: e.scaleToZeroEnabled,
      state: ready
        ? { deployment: 'DEPLOYMENT_READY', deployment_state_message: '' }
        : { deployment: 'DEPLOYMENT_CREATING', deployment_state_message: 'Creating served entity' }
    })),
    // Traffic splits evenly; the first entity takes the remainder.
    traffic_config: {
      routes: entities.map((e, i) => ({
        served_model_name: e.name,
        traffic_percentage: Math.floor(100 / entities.length) + (i === 0 ? 100 % entities.length : 0)
      }))
    }
  }
}

function describe (ctx: EmulatorContext, endpoint: EmulatorEndpointInfo, principal: EmulatorPrincipal, base: string): object {
  settle(endpoint, ctx.now())
  const url = dataPlaneUrl(base, ctx.workspaceId, endpoint.name)
  // Non-route-optimized endpoints carry neither endpoint_url nor data_plane_info (README, Control plane).
  const routing = endpoint.routeOptimized
    ? {
        endpoint_url: url,
        data_plane_info: { query_info: { endpoint_url: url, authorization_details: JSON.stringify(queryDetailsFor(endpoint.id)) } }
      }
    : {}
  const pending = endpoint.pending
  return {
    name: endpoint.name,
    id: endpoint.id,
    creator: endpoint.creator,
    creation_timestamp: endpoint.createdAt,
    last_updated_timestamp: endpoint.updatedAt,
    route_optimized: endpoint.routeOptimized,
    ...routing,
    state: { ready: endpoint.ready ? 'READY' : 'NOT_READY', config_update: endpoint.configUpdate },
    config: { ...describeEntities(endpoint.servedEntities, endpoint.ready), config_version: endpoint.configVersion },
    ...(pending === undefined
      ? {}
      : { pending_config: { ...describeEntities(pending.servedEntities, false), config_version: pending.configVersion, start_time: pending.at - ctx.readyDelayMs } }),
    permission_level: permissionLevel(principal, endpoint.name),
    task: endpoint.task ?? null
  }
}
