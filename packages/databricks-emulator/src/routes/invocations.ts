// Model invocations: the route-optimized data-plane URL and the workspace URLs (README, Data plane).
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { EmulatorContext } from '../context.js'
import type { InvocationRoute, InvocationSnapshot } from '../stats.js'
import type { EmulatorEndpointInfo, EmulatorTask } from '../types.js'
import type { OpenAiKind } from '../openai.js'
import { allowsQuery, scopeKeys } from '../authorization-details.js'
import { checkBearer } from '../bearer.js'
import { completion, embeddings, kindOf, parseOpenAi } from '../openai.js'
import { cutJsonAnswer, streamAnswer, type StreamCut } from '../sse.js'
import { endpointByName } from '../context.js'
import { isFeatureSpec, settle } from '../endpoint-config.js'
import { lookupFeatures } from '../feature-serving.js'
import { API_ERROR_CODES, apiErrorCodeFor, sendDataPlaneError, statusOf } from '../errors.js'
import { hasPermission } from '../permissions.js'
import { predict } from '../predictions.js'
import { clientRequestIdOf } from '../inference-log.js'

// Databricks' payload limit for custom models (README, Limits).
const BODY_LIMIT = 16 * 1024 * 1024

interface Params { workspaceId?: string, name: string }

const KIND_OF_TASK: Record<EmulatorTask, OpenAiKind> = {
  'llm/v1/chat': 'chat',
  'llm/v1/completions': 'completions',
  'llm/v1/embeddings': 'embeddings'
}
const FIELD_OF_KIND: Record<OpenAiKind, string> = { chat: 'messages', completions: 'prompt', embeddings: 'input' }
type InvocationRequest = FastifyRequest<{ Params: Params }>

export function invocationRoutes (ctx: EmulatorContext) {
  return async function routegateEmulatorInvocations (app: FastifyInstance): Promise<void> {
    // Bodies stay raw strings so stats can show exactly what arrived; JSON is parsed per request.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => { done(null, body) })

    const entries = new WeakMap<FastifyRequest, InvocationSnapshot>()
    // Requests whose fault lets them be served, then cuts the answer midway.
    const cuts = new WeakMap<FastifyRequest, StreamCut>()
    // The `client_request_id` of bodies that parsed as JSON objects: only those get a log row.
    const clientIds = new WeakMap<FastifyRequest, string | null>()
    // Who called through a workspace URL (the data plane records no requester, as on Databricks).
    const requesters = new WeakMap<FastifyRequest, string>()
    const viaOf = (request: FastifyRequest): InvocationRoute =>
      request.routeOptions.url?.startsWith('/:workspaceId/') === true ? 'data-plane' : 'workspace'

    /** Adds the request's inference-log row, when its body was a JSON object. */
    const logRow = (request: InvocationRequest, reply: FastifyReply, status: number): void => {
      const clientRequestId = clientIds.get(request)
      if (clientRequestId === undefined) return
      const endpoint = endpointByName(ctx, request.params.name)
      ctx.inferenceLog.add({
        databricks_request_id: String(reply.getHeader('x-request-id') ?? ''),
        client_request_id: clientRequestId,
        endpoint: request.params.name,
        served_model_name: endpoint?.servedModelName ?? '',
        timestamp_ms: ctx.now(),
        status_code: status,
        requester: requesters.get(request) ?? null,
        request_bytes: typeof request.body === 'string' ? Buffer.byteLength(request.body) : 0
      })
    }

    const fail = (request: InvocationRequest, reply: FastifyReply, status: number, code: string, message: string): FastifyReply => {
      ctx.stats.outcome(request.params.name, viaOf(request), status)
      logRow(request, reply, status)
      return sendDataPlaneError(reply, status, endpointByName(ctx, request.params.name)?.errorForm ?? 'string', code, message)
    }

    const record: (via: InvocationRoute) => (request: InvocationRequest, reply: FastifyReply) => Promise<void> =
      via => async (request, reply) => {
        reply.header('x-request-id', randomUUID())
        entries.set(request, ctx.stats.invocation(request.params.name, via, request.headers))
      }

    app.setErrorHandler((err: { statusCode?: number, message: string }, request: InvocationRequest, reply) => {
      const status = statusOf(err)
      return fail(request, reply, status, apiErrorCodeFor(status), err.message)
    })

    app.post<{ Params: Params }>('/:workspaceId/serving-endpoints/:name/invocations', {
      onRequest: [record('data-plane'), async (request, reply) => {
        const { workspaceId, name } = request.params
        const endpoint = workspaceId === ctx.workspaceId ? endpointByName(ctx, name) : undefined
        // A non-route-optimized endpoint has no data-plane host at all.
        if (endpoint === undefined || !endpoint.routeOptimized) {
          return fail(request, reply, 404, API_ERROR_CODES.resourceDoesNotExist, `Endpoint with name '${name}' does not exist.`)
        }
        return dataPlaneFault(request, reply)
      }]
    }, async (request, reply) => {
      const endpoint = endpointByName(ctx, request.params.name) as EmulatorEndpointInfo
      const entry = noteBody(request)
      const check = checkBearer(request.headers.authorization, ctx.tokens, ctx.now())
      if (check.record !== undefined) entry.tokenScope = scopeKeys(check.record.authorizationDetails)
      // Data plane: expired and nearly expired tokens alike are unauthenticated (README, Errors: not documented by Databricks).
      if (!check.ok) return fail(request, reply, 401, API_ERROR_CODES.unauthenticated, check.message)
      const details = check.record.authorizationDetails
      if (details === undefined || !allowsQuery(details, endpoint.id)) {
        return fail(request, reply, 403, API_ERROR_CODES.permissionDenied,
          `The token is not authorized to query serving endpoint '${endpoint.name}' (needs query_inference_endpoint on /serving-endpoints/${endpoint.id}).`)
      }
      return serve(request, reply, endpoint)
    })

    const workspaceRoute = {
      onRequest: record('workspace'),
      handler: async (request: InvocationRequest, reply: FastifyReply) => {
        const { name } = request.params
        const entry = noteBody(request)
        const endpoint = endpointByName(ctx, name)
        if (endpoint === undefined) return fail(request, reply, 404, API_ERROR_CODES.resourceDoesNotExist, `Endpoint with name '${name}' does not exist.`)
        const check = checkBearer(request.headers.authorization, ctx.tokens, ctx.now())
        if (check.record !== undefined) entry.tokenScope = scopeKeys(check.record.authorizationDetails)
        if (!check.ok) {
          return check.reason === 'expiring'
            ? fail(request, reply, 403, API_ERROR_CODES.permissionDenied, check.message)
            : fail(request, reply, 401, API_ERROR_CODES.unauthenticated, check.message)
        }
        // Route-optimized endpoints created on or after 2025-09-22 answer only on their own URL (README, Data plane).
        if (endpoint.routeOptimized && !endpoint.workspaceUrlAllowed) {
          return fail(request, reply, 400, API_ERROR_CODES.badRequest,
            `Endpoint '${name}' is route-optimized and can only be queried through its route-optimized URL (data_plane_info.query_info.endpoint_url).`)
        }
        const details = check.record.authorizationDetails
        const allowed = details === undefined
          ? hasPermission(check.record.principal, name, 'query_inference_endpoint')
          : allowsQuery(details, endpoint.id)
        if (!allowed) return fail(request, reply, 403, API_ERROR_CODES.permissionDenied, `User does not have permission to query serving endpoint '${name}'.`)
        requesters.set(request, check.record.principal.clientId)
        return serve(request, reply, endpoint)
      }
    }
    app.post<{ Params: Params }>('/serving-endpoints/:name/invocations', workspaceRoute)
    app.post<{ Params: Params }>('/api/serving-endpoints/:name/invocations', workspaceRoute)

    function noteBody (request: InvocationRequest): InvocationSnapshot {
      // Every invocation route's onRequest hook has recorded the entry.
      const entry = entries.get(request) as InvocationSnapshot
      entry.body = typeof request.body === 'string' ? request.body : ''
      return entry
    }

    async function dataPlaneFault (request: InvocationRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
      const { name } = request.params
      const fault = ctx.faults.takeDataPlane(name)
      if (fault === undefined) return undefined
      if (fault.reset === true) {
        ctx.stats.outcome(name, 'data-plane', 'reset')
        reply.hijack()
        request.raw.socket.resetAndDestroy()
        return reply
      }
      if (fault.hang === true) {
        ctx.stats.outcome(name, 'data-plane', 'hang')
        reply.hijack()
        ctx.lifecycle.hold(request.raw.socket)
        return reply
      }
      const delay = ctx.faults.delayOf(fault)
      if (delay > 0 && !(await ctx.lifecycle.sleep(delay))) return abandon(request, reply)
      if (fault.status === undefined && fault.body === undefined) {
        if (fault.resetAfterChunks !== undefined) cuts.set(request, { afterChunks: fault.resetAfterChunks, midEvent: fault.cutMidEvent === true })
        return undefined
      }
      const status = fault.status ?? 500
      ctx.stats.outcome(name, 'data-plane', status)
      if (fault.retryAfter !== undefined) reply.header('retry-after', fault.retryAfter)
      if (fault.body === undefined) {
        const form = fault.errorForm ?? endpointByName(ctx, name)?.errorForm ?? 'string'
        return sendDataPlaneError(reply, status, form, fault.errorCode ?? apiErrorCodeFor(status), fault.message ?? 'Injected fault', fault.reasonPhrase)
      }
      if (fault.reasonPhrase !== undefined) reply.header('x-databricks-reason-phrase', fault.reasonPhrase)
      reply.code(status)
      if (typeof fault.body === 'string') return reply.type('text/plain; charset=utf-8').send(fault.body)
      return reply.type('application/json').send(fault.body)
    }

    async function serve (request: InvocationRequest, reply: FastifyReply, endpoint: EmulatorEndpointInfo): Promise<FastifyReply> {
      settle(endpoint, ctx.now())
      if (!endpoint.ready) {
        return fail(request, reply, 503, API_ERROR_CODES.temporarilyUnavailable, `Endpoint '${endpoint.name}' is not ready.`)
      }
      const cold = ctx.faults.takeColdStart(endpoint.name)
      if (cold !== undefined) {
        if (!(await ctx.lifecycle.sleep(cold.delayMs))) return abandon(request, reply)
        if (cold.status !== undefined) {
          return fail(request, reply, cold.status, apiErrorCodeFor(cold.status),
            `Endpoint '${endpoint.name}' is scaling up from zero; retry shortly.`)
        }
      }
      if (!isJsonMediaType(request.headers['content-type'])) {
        return fail(request, reply, 400, API_ERROR_CODES.badRequest, 'Content-Type must be application/json.')
      }
      let body: unknown
      try {
        // With a Content-Type present fastify always runs the '*' parser, so the body is a string.
        body = JSON.parse(request.body as string)
      } catch {
        return fail(request, reply, 400, API_ERROR_CODES.badRequest, 'Malformed JSON in request body.')
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return fail(request, reply, 400, API_ERROR_CODES.invalidParameterValue, 'The request body must be a JSON object.')
      }
      const input = body as Record<string, unknown>
      clientIds.set(request, clientRequestIdOf(input))
      if (isFeatureSpec(endpoint)) {
        const features = lookupFeatures(endpoint.servedEntities[0]?.entityName ?? endpoint.name, input)
        if (!features.ok) return fail(request, reply, 400, API_ERROR_CODES.invalidParameterValue, features.message)
        return succeed(request, reply, endpoint, { outputs: features.outputs })
      }
      const asked = kindOf(input)
      if (endpoint.task !== undefined && asked !== KIND_OF_TASK[endpoint.task]) {
        return fail(request, reply, 400, API_ERROR_CODES.invalidParameterValue,
          `Endpoint '${endpoint.name}' serves ${endpoint.task}: the request body needs '${FIELD_OF_KIND[KIND_OF_TASK[endpoint.task]]}'.`)
      }
      if (asked !== undefined) {
        const parsed = parseOpenAi(asked, input, endpoint.defaultMaxTokens, endpoint.honourEncodingFormat)
        if (!parsed.ok) return fail(request, reply, 400, API_ERROR_CODES.invalidParameterValue, parsed.message)
        const req = parsed.request
        if (req.kind === 'embeddings') return succeed(request, reply, endpoint, embeddings(req, endpoint.servedModelName, endpoint.embeddingDimensions))
        if (req.stream) {
          ctx.stats.outcome(endpoint.name, viaOf(request), 200)
          logRow(request, reply, 200)
          return streamAnswer(ctx, request, reply, endpoint, req, cuts.get(request))
        }
        return succeed(request, reply, endpoint, completion(req, endpoint.servedModelName, ctx.now()))
      }
      const result = predict(input)
      if (!result.ok) return fail(request, reply, 400, API_ERROR_CODES.invalidParameterValue, result.message)
      return succeed(request, reply, endpoint, { predictions: result.predictions })
    }

    function succeed (request: InvocationRequest, reply: FastifyReply, endpoint: EmulatorEndpointInfo, payload: object): FastifyReply {
      const cut = cuts.get(request)
      if (cut !== undefined) {
        ctx.stats.outcome(endpoint.name, viaOf(request), 'reset')
        return cutJsonAnswer(ctx, request, reply, { 'served-model-name': endpoint.servedModelName }, payload)
      }
      ctx.stats.outcome(endpoint.name, viaOf(request), 200)
      logRow(request, reply, 200)
      return reply.header('served-model-name', endpoint.servedModelName).type('application/json').send(payload)
    }

    function abandon (request: FastifyRequest, reply: FastifyReply): FastifyReply {
      reply.hijack()
      request.raw.socket.destroy()
      return reply
    }
  }
}

/** application/json or any application/*+json, with or without parameters. */
function isJsonMediaType (contentType: string | undefined): boolean {
  return /^\s*application\/(?:[\w.!#$&^-]+\+)?json\s*(?:;|$)/i.test(contentType ?? '')
}
