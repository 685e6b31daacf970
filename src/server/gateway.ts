// The gateway listener's fastify app: authenticate, route, authorise, attach a scoped token and
// stream the invocation through the endpoint's pool. Built from explicit deps; never listens.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { CallerAuth } from '../callers/keys.js'
import { mayUse } from '../callers/keys.js'
import type { Registry, Route } from '../endpoints/registry.js'
import { EndpointNotFound, MethodNotAllowed, PayloadTooLarge, PermissionDenied, Unauthenticated } from '../errors.js'
import { UNKNOWN_ENDPOINT, type Metrics } from '../metrics/index.js'
import { dispatch, LimitedBody } from '../proxy/forward.js'
import { acceptableRequestId, downstreamHeaders, upstreamHeaders } from '../proxy/headers.js'
import type { Pools } from '../proxy/pools.js'
import type { TokenBroker } from '../tokens/broker.js'
import { toWireError } from './errors.js'

export interface GatewayDeps {
  logger: Logger
  registry: Registry
  broker: TokenBroker
  pools: Pools
  metrics: Metrics
  callers: CallerAuth
  bodyLimitBytes: number
}

/** Per-request bookkeeping for metrics and the access log. */
interface RequestState {
  start: number
  endpoint: string
  caller?: string
  upstreamMs?: number
  overheadMs?: number
  bytesIn?: () => number
  errorCode?: string
  errorCause?: unknown
  inflight: boolean
}

declare module 'fastify' {
  interface FastifyRequest { rg: RequestState }
}

const INVOCATIONS = '/serving-endpoints/:name/invocations'
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/

export function buildGateway (deps: GatewayDeps): FastifyInstance {
  const { registry, broker, pools, metrics, callers, bodyLimitBytes } = deps
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // One access-log line per request is written by finish() below, not by fastify.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id']
      return acceptableRequestId(given) ? given : randomUUID()
    },
    bodyLimit: bodyLimitBytes,
    forceCloseConnections: 'idle',
    return503OnClosing: true
  })

  // Bodies are streamed upstream untouched: no parser reads them.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => { done(null) })

  app.decorateRequest('rg', null as unknown as RequestState)
  app.addHook('onRequest', async (request, reply) => {
    request.rg = { start: performance.now(), endpoint: UNKNOWN_ENDPOINT, inflight: false }
    reply.header('x-request-id', request.id)
    reply.raw.once('close', () => { finish(request, reply) })
  })

  app.setErrorHandler(async (err, request, reply) => {
    const wire = toWireError(err)
    request.rg.errorCode = wire.code
    if (wire.status >= 500) request.rg.errorCause = err
    return reply.code(wire.status).headers(wire.headers)
      .send({ error_code: wire.code, message: wire.message, request_id: request.id })
  })

  app.setNotFoundHandler(async (request) => {
    throw new EndpointNotFound(`no route for ${request.method} ${request.url.length > 100 ? '(long path)' : sanitize(request.url)}`)
  })

  app.post<{ Params: { name: string } }>(INVOCATIONS, async (request, reply) => {
    const caller = callers.authenticate(request.headers)
    if (caller === undefined) throw new Unauthenticated('missing or unknown caller credentials')
    request.rg.caller = caller.name
    const name = request.params.name
    const route = registry.get(name)
    if (route === undefined) throw new EndpointNotFound(SAFE_NAME.test(name) ? `no endpoint named '${name}'` : 'no such endpoint')
    request.rg.endpoint = route.name
    request.rg.inflight = true
    metrics.inflight.inc({ endpoint: route.name })
    if (!mayUse(caller, route.name)) throw new PermissionDenied(`caller '${caller.name}' may not use endpoint '${route.name}'`)
    return await proxy(request, reply, route)
  })

  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'],
    url: INVOCATIONS,
    handler: async (_request, reply) => {
      reply.header('allow', 'POST')
      throw new MethodNotAllowed('invocations take POST')
    }
  })

  async function proxy (request: FastifyRequest, reply: FastifyReply, route: Route): Promise<FastifyReply> {
    const raw = request.raw
    const length = raw.headers['content-length']
    const declared = length === undefined ? undefined : Number(length)
    if (declared !== undefined && declared > bodyLimitBytes) throw new PayloadTooLarge(`request body is larger than ${bodyLimitBytes} bytes`)
    const token = await broker.get(route.token)

    let body: IncomingMessage | LimitedBody | null = null
    if (declared !== undefined && declared > 0) {
      body = raw
      request.rg.bytesIn = () => declared
    } else if (raw.headers['transfer-encoding'] !== undefined) {
      const limited = new LimitedBody(bodyLimitBytes)
      raw.on('error', (err) => limited.destroy(err))
      body = raw.pipe(limited)
      request.rg.bytesIn = () => limited.bytes
    }

    const ac = new AbortController()
    reply.raw.once('close', () => { if (!reply.raw.writableFinished) ac.abort() })
    const dispatched = performance.now()
    const res = await dispatch(pools.get(route.origin, route), {
      path: route.path,
      headers: upstreamHeaders(request.headers, token, request.id),
      body,
      headersTimeoutMs: route.timeoutMs,
      idleTimeoutMs: route.idleTimeoutMs,
      signal: ac.signal
    })
    const now = performance.now()
    const upstreamMs = now - dispatched
    const overheadMs = now - request.rg.start - upstreamMs
    request.rg.upstreamMs = upstreamMs
    request.rg.overheadMs = overheadMs
    metrics.upstreamDuration.observe({ endpoint: route.name }, upstreamMs / 1000)
    metrics.overhead.observe({ endpoint: route.name }, overheadMs / 1000)
    // The endpoint refused this token: drop it so the next request mints a fresh one.
    if (res.statusCode === 401 || res.statusCode === 403) broker.invalidate(route.token, token)
    return reply.code(res.statusCode).headers(downstreamHeaders(res.headers)).send(res.body)
  }

  function finish (request: FastifyRequest, reply: FastifyReply): void {
    const rg = request.rg
    const res = reply.raw
    // A response that never finished means the caller went away (nginx's 499).
    const code = res.writableFinished ? res.statusCode : 499
    const seconds = (performance.now() - rg.start) / 1000
    metrics.requests.inc({ endpoint: rg.endpoint, code: String(code) })
    metrics.requestDuration.observe({ endpoint: rg.endpoint }, seconds)
    if (rg.inflight) metrics.inflight.dec({ endpoint: rg.endpoint })
    const line: Record<string, unknown> = {
      method: request.method,
      endpoint: rg.endpoint,
      caller: rg.caller,
      status: code,
      durationMs: round(seconds * 1000),
      upstreamMs: rg.upstreamMs === undefined ? undefined : round(rg.upstreamMs),
      overheadMs: rg.overheadMs === undefined ? undefined : round(rg.overheadMs),
      bytesIn: rg.bytesIn?.() ?? 0,
      bytesOut: Number(res.getHeader('content-length') ?? 0) || undefined,
      error_code: rg.errorCode
    }
    if (rg.errorCause !== undefined) line.err = rg.errorCause
    request.log[code >= 500 ? 'warn' : 'info'](line, 'request completed')
  }

  return app
}

function round (ms: number): number {
  return Math.round(ms * 1000) / 1000
}

function sanitize (s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?')
}
