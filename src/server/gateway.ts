// The gateway listener's fastify app: authenticate, route, authorise, attach a scoped token and
// stream the invocation through the endpoint's pool. Built from explicit deps; never listens.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { authorize } from '../callers/authorize.js'
import type { Authenticator } from '../callers/identity.js'
import type { ConcurrencyLimiter } from '../limits/concurrency.js'
import type { OverloadGuard } from '../limits/overload.js'
import type { RateLimiter } from '../limits/rate.js'
import type { Dispatcher } from 'undici'
import type { EndpointConfig } from '../config/load.js'
import type { Registry, Route } from '../endpoints/registry.js'
import {
  BadRequest, EndpointNotFound, HeadersTooLarge, MethodNotAllowed, PayloadTooLarge, PermissionDenied, RequestLimitExceeded,
  ServiceUnavailable, Unauthenticated, UpstreamUnavailable
} from '../errors.js'
import { UNKNOWN_ENDPOINT, type Metrics } from '../metrics/index.js'
import { dispatch, LimitedBody } from '../proxy/forward.js'
import { acceptableRequestId, downstreamHeaders, upstreamHeaders } from '../proxy/headers.js'
import type { CircuitBreaker } from '../proxy/breaker.js'
import type { Pools } from '../proxy/pools.js'
import { createIdSource, traceContext, type TraceContext, type TraceMode } from '../proxy/trace.js'
import type { TokenBroker } from '../tokens/broker.js'
import { toWireError } from './errors.js'
import { clientErrorHandler, frameworkErrors, installServerGuards, type GuardDeps } from './http-guards.js'

export interface GatewayDeps {
  logger: Logger
  registry: Registry
  broker: TokenBroker
  pools: Pools
  metrics: Metrics
  authenticator: Authenticator
  rate: RateLimiter
  concurrency: ConcurrencyLimiter
  /** Sheds load (503 before any work) while the event loop lags. */
  overload?: OverloadGuard
  /** One breaker per configured endpoint name. */
  breakers: ReadonlyMap<string, CircuitBreaker>
  /** Largest body of any endpoint (fastify's own limit); endpoints may set lower ones. */
  bodyLimitBytes: number
  /** Bodies up to this many bytes are buffered so a 401 can be replayed once. */
  replayBufferBytes: number
  traceMode?: TraceMode
  /** Slow-client and header limits (server.* in the config). */
  limits?: { headersTimeoutMs: number, requestTimeoutMs: number, maxHeaderBytes: number, maxHeaderCount: number }
  /** TLS options for the listener (mTLS when ca/requestCert are set). */
  https?: { cert: Buffer, key: Buffer, ca?: Buffer, requestCert: boolean, rejectUnauthorized: boolean }
}

/** Per-request bookkeeping for metrics and the access log. */
interface RequestState {
  start: number
  endpoint: string
  caller?: string
  upstreamMs?: number
  overheadMs?: number
  bytesIn?: () => number
  /** The socket's bytesWritten when the request arrived: the response's wire size is the difference. */
  wroteBefore: number
  /** When the latest upstream attempt was dispatched. */
  dispatchedAt: number
  errorCode?: string
  errorCause?: unknown
  inflight: boolean
  replayed?: boolean
  trace: TraceContext
  via?: string
  keyIndex?: number | undefined
  /** Set when the socket's parser failed after routing (bad chunk, body timeout). */
  clientError?: { status: number, code?: string }
}

declare module 'fastify' {
  interface FastifyRequest { rg: RequestState }
}

const INVOCATIONS = '/serving-endpoints/:name/invocations'
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/

export function buildGateway (deps: GatewayDeps): FastifyInstance {
  const { registry, broker, pools, metrics, authenticator, rate, concurrency, breakers, bodyLimitBytes, replayBufferBytes } = deps
  const traceMode = deps.traceMode ?? 'hop'
  const ids = createIdSource()
  const limits = deps.limits ?? { headersTimeoutMs: 10_000, requestTimeoutMs: 120_000, maxHeaderBytes: 16 * 1024, maxHeaderCount: 100 }
  const serverOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 2))),
    // A missing Host is answered by onRequest below in the contract's shape, not by Node bare.
    requireHostHeader: false
  }
  // Requests being read per socket, so a parse error mid-body is reported on its own request.
  const reading = new WeakMap<object, RequestState>()
  const guards: GuardDeps = {
    logger: deps.logger,
    maxHeaderBytes: limits.maxHeaderBytes,
    maxHeaderCount: limits.maxHeaderCount,
    count: (status) => metrics.requests.inc({ endpoint: UNKNOWN_ENDPOINT, code: String(status) }),
    requestOn: (socket) => reading.get(socket)
  }
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
    return503OnClosing: true,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks headersTimeout/requestTimeout only every connectionsCheckingInterval (30 s by
    // default): check often enough that the configured timeouts hold. Same options over TLS.
    http: serverOptions,
    ...(deps.https === undefined ? {} : { https: { ...deps.https, ...serverOptions } }),
    clientErrorHandler: clientErrorHandler(guards),
    frameworkErrors: frameworkErrors(guards)
  })
  app.server.headersTimeout = limits.headersTimeoutMs
  app.server.maxHeadersCount = limits.maxHeaderCount + 1
  installServerGuards(app.server, guards)

  // Bodies are streamed upstream untouched: no parser reads them.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => { done(null) })

  app.decorateRequest('rg', null as unknown as RequestState)
  app.addHook('onRequest', async (request, reply) => {
    const trace = traceContext(request.headers.traceparent, request.headers.tracestate, traceMode, ids)
    request.rg = { start: performance.now(), endpoint: UNKNOWN_ENDPOINT, inflight: false, trace, wroteBefore: request.raw.socket.bytesWritten, dispatchedAt: 0 }
    // Every log line of this request carries the trace id.
    request.log = request.log.child({ traceId: trace.traceId })
    reply.header('x-request-id', request.id)
    reading.set(request.raw.socket, request.rg)
    reply.raw.once('close', () => {
      if (reading.get(request.raw.socket) === request.rg) reading.delete(request.raw.socket)
      finish(request, reply)
    })
    // Shed load before any work (no JWT check, no token, no upstream) while the process lags.
    if (deps.overload?.overloaded() === true) {
      throw Object.assign(new ServiceUnavailable('gateway overloaded, try again shortly'), { headers: { 'retry-after': '1' } })
    }
    // Node keeps only maxHeadersCount fields; one more than allowed means the caller sent too many.
    if (request.raw.rawHeaders.length / 2 > limits.maxHeaderCount) throw new HeadersTooLarge(`more than ${limits.maxHeaderCount} header fields`)
    checkFraming(request.raw)
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
    const auth = await authenticator.authenticate({ headers: request.headers, socket: request.raw.socket })
    if (!auth.ok) {
      if (auth.unavailable === true) {
        throw Object.assign(new ServiceUnavailable(`cannot verify caller credentials: ${auth.reason}`), { headers: { 'retry-after': '5' } })
      }
      throw Object.assign(new Unauthenticated(auth.reason), { headers: { 'www-authenticate': 'Bearer' } })
    }
    const caller = auth.caller
    request.rg.caller = caller.name
    request.rg.via = auth.via
    request.rg.keyIndex = auth.keyIndex
    const limited = caller.limits === undefined ? undefined : rate.take(caller.name, caller.limits)
    if (limited !== undefined && !limited.ok) {
      throw Object.assign(new RequestLimitExceeded(`caller '${caller.name}' is over its request rate`), { headers: { 'retry-after': String(limited.retryAfterSeconds) } })
    }
    const name = request.params.name
    const endpoint = registry.endpoint(name)
    if (endpoint === undefined) throw new EndpointNotFound(SAFE_NAME.test(name) ? `no endpoint named '${name}'` : 'no such endpoint')
    request.rg.endpoint = endpoint.name
    request.rg.inflight = true
    metrics.inflight.inc({ endpoint: endpoint.name })
    const allowed = authorize(caller, endpoint.name, endpoint.action)
    if (!allowed.ok) throw new PermissionDenied(allowed.message)
    if (caller.limits?.maxConcurrent !== undefined) {
      const release = concurrency.acquire(caller.name, caller.limits.maxConcurrent)
      if (release === undefined) {
        throw Object.assign(new RequestLimitExceeded(`caller '${caller.name}' has ${caller.limits.maxConcurrent} requests in progress already`), { headers: { 'retry-after': '1' } })
      }
      // Freed when the response finishes or the caller goes away, whichever comes first.
      reply.raw.once('close', release)
    }
    return await proxy(request, reply, endpoint)
  })

  app.route({
    method: app.supportedMethods.filter(m => m !== 'POST' && m !== 'CONNECT'),
    url: INVOCATIONS,
    handler: async (_request, reply) => {
      reply.header('allow', 'POST')
      throw new MethodNotAllowed('invocations take POST')
    }
  })

  async function proxy (request: FastifyRequest, reply: FastifyReply, endpoint: EndpointConfig): Promise<FastifyReply> {
    const raw = request.raw
    const limit = endpoint.bodyLimitBytes
    const length = raw.headers['content-length']
    const declared = length === undefined ? undefined : Number(length)
    if (declared !== undefined && declared > limit) throw new PayloadTooLarge(`request body is larger than ${limit} bytes`)
    const route = await registry.resolve(endpoint.name)
    const breaker = breakers.get(endpoint.name) as CircuitBreaker

    // Small bodies are read whole before anything goes upstream, so a request refused for its
    // token can be replayed once; larger or chunked ones stream and are never replayed.
    let body: Buffer | IncomingMessage | LimitedBody | null = null
    if (declared !== undefined && declared > 0) {
      body = declared <= replayBufferBytes ? await readBody(raw, limit) : raw
      request.rg.bytesIn = () => declared
    } else if (raw.headers['transfer-encoding'] !== undefined) {
      const limited = new LimitedBody(limit)
      raw.on('error', (err) => limited.destroy(err))
      // The error may fire before undici takes the stream (while the token is fetched); undici
      // then fails the request with it, so it surfaces as this request's 413, not a crash.
      limited.on('error', () => {})
      body = raw.pipe(limited)
      request.rg.bytesIn = () => limited.bytes
    }
    const replayable = body === null || Buffer.isBuffer(body)
    // A body that already failed (bad chunk, truncated) must not start an upstream request.
    if (raw.errored !== null || (raw.destroyed && !raw.readableEnded)) throw new BadRequest('request body is malformed or was cut off')

    const ac = new AbortController()
    reply.raw.once('close', () => { if (!reply.raw.writableFinished) ac.abort() })
    let current = route
    let token = await broker.get(current.token)
    let res = await send(current, token, body, replayable, breaker, request, ac.signal)
    if (res.statusCode === 401 || res.statusCode === 403 || (res.statusCode === 404 && current.discovered)) {
      // The endpoint refused this token (or lost the endpoint): drop token and discovered info.
      broker.invalidate(current.token, token)
      registry.evict(endpoint.name)
      if (res.statusCode === 401 && replayable && !ac.signal.aborted) {
        await res.body.dump()
        current = await registry.resolve(endpoint.name)
        token = await broker.get(current.token)
        request.rg.replayed = true
        res = await send(current, token, body, replayable, breaker, request, ac.signal)
        if (res.statusCode === 401 || res.statusCode === 403) broker.invalidate(current.token, token)
      }
    }
    // Upstream time is the answering attempt's dispatch → headers; everything else before the
    // headers (auth, token fetch, a refused first attempt) is the gateway's overhead.
    const now = performance.now()
    const upstreamMs = now - request.rg.dispatchedAt
    const overheadMs = now - request.rg.start - upstreamMs
    request.rg.upstreamMs = upstreamMs
    request.rg.overheadMs = overheadMs
    metrics.upstreamDuration.observe({ endpoint: endpoint.name }, upstreamMs / 1000)
    metrics.overhead.observe({ endpoint: endpoint.name }, overheadMs / 1000)
    return reply.code(res.statusCode).headers(downstreamHeaders(res.headers)).send(res.body)
  }

  /**
   * One upstream attempt through the breaker. A connect failure (the request never left) is
   * retried once on a new connection when the body can be sent again; nothing else is retried.
   */
  async function send (route: Route, token: string, body: Buffer | IncomingMessage | LimitedBody | null, replayable: boolean,
    breaker: CircuitBreaker, request: FastifyRequest, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    for (let attempt = 1; ; attempt++) {
      if (!breaker.allow()) {
        throw Object.assign(new UpstreamUnavailable(`endpoint '${route.name}' keeps failing to connect: failing fast (circuit open)`),
          { headers: { 'retry-after': String(breaker.retryAfterSeconds()) } })
      }
      try {
        request.rg.dispatchedAt = performance.now()
        const res = await dispatch(pools.get(route.origin, route), {
          path: route.path,
          headers: upstreamHeaders(request.headers, token, request.id, request.rg.trace),
          body,
          headersTimeoutMs: route.timeoutMs,
          idleTimeoutMs: route.idleTimeoutMs,
          signal
        })
        breaker.success()
        return res
      } catch (err) {
        if ((err as { connectFailure?: boolean }).connectFailure !== true) {
          breaker.release()
          throw err
        }
        breaker.failure()
        // The endpoint may have moved (recreated): look it up again next time.
        registry.evict(route.name)
        if (attempt > 1 || !replayable || signal.aborted) throw err
        request.log.debug({ endpoint: route.name, err }, 'connect failed: retrying once on a new connection')
      }
    }
  }

  function finish (request: FastifyRequest, reply: FastifyReply): void {
    const rg = request.rg
    const res = reply.raw
    // A response that never finished means the caller went away (nginx's 499).
    const code = rg.clientError?.status ?? (res.writableFinished ? res.statusCode : 499)
    const seconds = (performance.now() - rg.start) / 1000
    metrics.requests.inc({ endpoint: rg.endpoint, code: String(code) })
    metrics.requestDuration.observe({ endpoint: rg.endpoint }, seconds)
    if (rg.inflight) metrics.inflight.dec({ endpoint: rg.endpoint })
    const line: Record<string, unknown> = {
      method: request.method,
      endpoint: rg.endpoint,
      caller: rg.caller,
      via: rg.via,
      keyIndex: rg.keyIndex,
      status: code,
      durationMs: round(seconds * 1000),
      upstreamMs: rg.upstreamMs === undefined ? undefined : round(rg.upstreamMs),
      overheadMs: rg.overheadMs === undefined ? undefined : round(rg.overheadMs),
      bytesIn: rg.bytesIn?.() ?? 0,
      // Bytes written to the caller for this response, headers included (streams too).
      bytesOut: (request.raw.socket?.bytesWritten ?? rg.wroteBefore) - rg.wroteBefore,
      error_code: rg.clientError?.code ?? rg.errorCode,
      replayed: rg.replayed
    }
    if (rg.errorCause !== undefined) line.err = rg.errorCause
    request.log[code >= 500 ? 'warn' : 'info'](line, 'request completed')
  }

  return app
}

const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

/** RFC 9112 §3.2 and §6.1: one sane Host (required from HTTP/1.1 on), and no transfer coding but chunked. */
function checkFraming (raw: IncomingMessage): void {
  let hosts = 0
  for (let i = 0; i < raw.rawHeaders.length; i += 2) if (raw.rawHeaders[i]?.toLowerCase() === 'host') hosts++
  const required = raw.httpVersionMajor > 1 || (raw.httpVersionMajor === 1 && raw.httpVersionMinor >= 1)
  if (hosts > 1 || (hosts === 0 && required) || (hosts === 1 && !HOST.test(raw.headers.host ?? ''))) {
    throw new BadRequest('a request needs exactly one valid Host header')
  }
  const te = raw.headers['transfer-encoding']
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') throw new BadRequest('only Transfer-Encoding: chunked is supported')
}

/** Reads a whole (small) request body; the caller leaving mid-upload rejects. */
async function readBody (raw: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of raw) {
      size += (chunk as Buffer).length
      if (size > limit) throw new PayloadTooLarge(`request body is larger than ${limit} bytes`)
      chunks.push(chunk as Buffer)
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'PAYLOAD_TOO_LARGE') throw err
    throw new BadRequest('request body ended early (the upload was aborted or truncated)', { cause: err })
  }
  const declared = Number(raw.headers['content-length'])
  if (size !== declared) throw new BadRequest(`request body has ${size} bytes, content-length says ${declared}`)
  return Buffer.concat(chunks, size)
}

function round (ms: number): number {
  return Math.round(ms * 1000) / 1000
}

function sanitize (s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?')
}
