// Model invocations: the route-optimized data-plane URL and the workspace URLs (DATABRICKS.md §1.3, §3).
import { randomUUID } from 'node:crypto'
import { PassThrough } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ChatRequest } from '../chat.js'
import type { EmulatorContext } from '../context.js'
import type { InvocationRoute, InvocationSnapshot } from '../stats.js'
import type { EmulatorEndpointInfo } from '../types.js'
import { allowsQuery, scopeKeys } from '../authorization-details.js'
import { checkBearer } from '../bearer.js'
import { chatCompletion, chunkFactory, parseChat } from '../chat.js'
import { endpointByName } from '../context.js'
import { API_ERROR_CODES, apiErrorCodeFor, sendApiError, statusOf } from '../errors.js'
import { hasPermission } from '../permissions.js'
import { predict } from '../predictions.js'

// Databricks' payload limit for custom models (DATABRICKS.md §4).
const BODY_LIMIT = 16 * 1024 * 1024

interface Params { workspaceId?: string, name: string }
type InvocationRequest = FastifyRequest<{ Params: Params }>

export function invocationRoutes (ctx: EmulatorContext) {
  return async function routegateEmulatorInvocations (app: FastifyInstance): Promise<void> {
    // Bodies stay raw strings so stats can show exactly what arrived; JSON is parsed per request.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => { done(null, body) })

    const entries = new WeakMap<FastifyRequest, InvocationSnapshot>()
    const viaOf = (request: FastifyRequest): InvocationRoute =>
      request.routeOptions.url?.startsWith('/:workspaceId/') === true ? 'data-plane' : 'workspace'

    const fail = (request: InvocationRequest, reply: FastifyReply, status: number, code: string, message: string): FastifyReply => {
      ctx.stats.outcome(request.params.name, viaOf(request), status)
      return sendApiError(reply, status, code, message)
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
      // Data plane: expired and nearly expired tokens alike are unauthenticated (DATABRICKS.md §3.4 [I]).
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
        // Route-optimized endpoints created on or after 2025-09-22 answer only on their own URL (DOC-RO).
        if (endpoint.routeOptimized && !endpoint.workspaceUrlAllowed) {
          return fail(request, reply, 400, API_ERROR_CODES.badRequest,
            `Endpoint '${name}' is route-optimized and can only be queried through its route-optimized URL (data_plane_info.query_info.endpoint_url).`)
        }
        const details = check.record.authorizationDetails
        const allowed = details === undefined
          ? hasPermission(check.record.principal, name, 'query_inference_endpoint')
          : allowsQuery(details, endpoint.id)
        if (!allowed) return fail(request, reply, 403, API_ERROR_CODES.permissionDenied, `User does not have permission to query serving endpoint '${name}'.`)
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
      if (fault.latencyMs !== undefined && !(await ctx.lifecycle.sleep(fault.latencyMs))) return abandon(request, reply)
      if (fault.status === undefined && fault.body === undefined) return undefined
      const status = fault.status ?? 500
      ctx.stats.outcome(name, 'data-plane', status)
      if (fault.retryAfter !== undefined) reply.header('retry-after', fault.retryAfter)
      reply.code(status)
      if (typeof fault.body === 'string') return reply.type('text/plain; charset=utf-8').send(fault.body)
      return reply.type('application/json').send(fault.body ?? { error_code: apiErrorCodeFor(status), message: 'Injected fault' })
    }

    async function serve (request: InvocationRequest, reply: FastifyReply, endpoint: EmulatorEndpointInfo): Promise<FastifyReply> {
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
      if (Object.hasOwn(input, 'messages')) {
        const chat = parseChat(input)
        if (!chat.ok) return fail(request, reply, 400, API_ERROR_CODES.invalidParameterValue, chat.message)
        if (chat.request.stream) return stream(request, reply, endpoint, chat.request)
        return succeed(request, reply, endpoint, chatCompletion(chat.request, endpoint.servedModelName, ctx.now()))
      }
      const result = predict(input)
      if (!result.ok) return fail(request, reply, 400, API_ERROR_CODES.invalidParameterValue, result.message)
      return succeed(request, reply, endpoint, { predictions: result.predictions })
    }

    function succeed (request: InvocationRequest, reply: FastifyReply, endpoint: EmulatorEndpointInfo, payload: object): FastifyReply {
      ctx.stats.outcome(endpoint.name, viaOf(request), 200)
      return reply.header('served-model-name', endpoint.servedModelName).type('application/json').send(payload)
    }

    // Chunks are written as produced, streamIntervalMs apart, so clients see a live stream (DATABRICKS.md §3.3).
    function stream (request: InvocationRequest, reply: FastifyReply, endpoint: EmulatorEndpointInfo, chat: ChatRequest): FastifyReply {
      ctx.stats.outcome(endpoint.name, viaOf(request), 200)
      const out = new PassThrough()
      const chunk = chunkFactory(chat, endpoint.servedModelName, ctx.now())
      const pump = async (): Promise<void> => {
        for (let i = 0; i <= chat.maxTokens; i++) {
          if (i > 0 && !(await ctx.lifecycle.sleep(ctx.streamIntervalMs))) {
            out.destroy()
            return
          }
          if (out.destroyed) return
          if (i < chat.maxTokens) out.write(`data: ${JSON.stringify(chunk(i))}\n\n`)
          else out.end('data: [DONE]\n\n')
        }
      }
      /* c8 ignore next - pump only writes to a PassThrough and cannot reject; this guards against future edits */
      pump().catch(err => out.destroy(err as Error))
      return reply
        .header('served-model-name', endpoint.servedModelName)
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(out)
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
