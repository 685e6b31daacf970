// The gateway listener: a node:http (or https) server whose invocation requests with plain
// endpoint names go straight to the invocation handler, and whose every other request (odd
// encodings, wrong methods, unknown paths) goes to a fastify app. Built from explicit
// dependencies; never listens by itself.
//
// Why the split: fastify's per-request pipeline (request/reply objects, hooks, router, content
// type parsing, reply serialisation) cost about a third of the CPU per proxied request in the
// profile, and the invocation route needs none of it. Everything fastify is good at (routing
// the long tail, 404/405 answers, framework errors) stays with fastify.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { EndpointNotFound, MethodNotAllowed } from '../errors.js'
import { UNKNOWN_ENDPOINT, codeLabel, type Metrics } from '../metrics/index.js'
import { SERVER_DEFAULTS } from '../config/schema.js'
import { admitRequest, type DoorDeps } from './admission.js'
import { answerError } from './errors.js'
import { requestIdOf, type Exchange, type Exchanges } from './exchange.js'
import { clientErrorHandler, frameworkErrors, installServerGuards, type GuardDeps } from './http-guards.js'
import type { Handlers } from './handlers.js'
import { logRefusals } from './refusal-log.js'
import { invocationName } from './invocations.js'
import { OPENAI_PATHS, openAiRoute } from './openai.js'

export interface GatewayLimits {
  maxConnections?: number
  keepAliveTimeoutMs?: number
  headersTimeoutMs: number
  requestTimeoutMs: number
  maxHeaderBytes: number
  maxHeaderCount: number
}

export interface GatewayDeps {
  logger: Logger
  metrics: Pick<Metrics, 'endpointSeries'>
  exchanges: Exchanges
  /** The request handlers (admission, then the forwarder), of the current config. */
  handlers: Handlers
  overloaded: () => boolean
  /** Slow-client and header limits (server.* in the config). */
  limits: GatewayLimits
  /** TLS options for the listener (mTLS when ca/requestCert are set). */
  https?: { cert: Buffer, key: Buffer, ca?: Buffer, requestCert: boolean, rejectUnauthorized: boolean } | undefined
}

declare module 'fastify' {
  interface FastifyRequest { exchange: Exchange }
}

const INVOCATIONS = '/serving-endpoints/:name/invocations'

/** The server options that make the configured slow-client limits hold. */
export function serverOptions (limits: GatewayLimits): ServerOptions {
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks headersTimeout/requestTimeout only every connectionsCheckingInterval (30 s by
    // default): check often enough that the configured timeouts hold.
    connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 2))),
    // A missing Host is answered in the contract's shape by admission, not by Node bare.
    requireHostHeader: false
  }
}

export function buildGateway (deps: GatewayDeps): FastifyInstance {
  const { limits, exchanges } = deps
  const guards: GuardDeps = {
    logger: deps.logger,
    maxHeaderBytes: limits.maxHeaderBytes,
    maxHeaderCount: limits.maxHeaderCount,
    count: (status) => deps.metrics.endpointSeries(UNKNOWN_ENDPOINT).requests(codeLabel(status)).inc(),
    exchangeOn: (socket) => exchanges.on(socket)
  }

  const door: DoorDeps = { overloaded: deps.overloaded, maxHeaderCount: limits.maxHeaderCount }
  /**
   * Every request, fastify's or not, comes in here once: its exchange is opened (labelled with
   * the endpoint an invocation names) and the door's admission steps run. Undefined when the
   * door refused it (and the refusal is answered).
   */
  function enter (req: IncomingMessage, res: ServerResponse, id: string, invokes?: string): Exchange | undefined {
    const ex = exchanges.open(req, res, id)
    if (invokes !== undefined) deps.handlers.label(ex, invokes)
    try {
      admitRequest(door, req)
      return ex
    } catch (err) {
      answerError(deps.logger, ex, err)
      return undefined
    }
  }

  function serverFactory (fastifyHandler: (req: IncomingMessage, res: ServerResponse) => void): Server {
    const { handlers } = deps
    // Plain invocation URLs and the OpenAI-compatible paths with their own method skip fastify.
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      const method = req.method
      if (method === 'POST') {
        const name = invocationName(req.url)
        if (name !== undefined) {
          const ex = enter(req, res, requestIdOf(req), name)
          if (ex !== undefined) handlers.invocation(ex, name)
          return
        }
        const route = openAiRoute(req.url)
        if (route !== undefined && route !== 'models') {
          const ex = enter(req, res, requestIdOf(req))
          if (ex !== undefined) handlers.openai(ex, route)
          return
        }
      } else if (method === 'GET' && openAiRoute(req.url) === 'models') {
        const ex = enter(req, res, requestIdOf(req))
        if (ex !== undefined) handlers.models(ex)
        return
      }
      fastifyHandler(req, res)
    }
    const opts = serverOptions(limits)
    const server = deps.https === undefined ? createHttpServer(opts, onRequest) : createHttpsServer({ ...opts, ...deps.https }, onRequest)
    // With a listener here Node does not answer `Expect: 100-continue` by itself: the forwarder
    // sends 100 Continue only once the caller is authenticated and admitted.
    server.on('checkContinue', onRequest)
    server.headersTimeout = limits.headersTimeoutMs
    // Node keeps only maxHeadersCount fields; one more than allowed means the caller sent too many.
    server.maxHeadersCount = limits.maxHeaderCount + 1
    server.maxConnections = limits.maxConnections ?? SERVER_DEFAULTS.maxConnections
    server.keepAliveTimeout = limits.keepAliveTimeoutMs ?? SERVER_DEFAULTS.keepAliveTimeoutMs
    installServerGuards(server, guards)
    logRefusals(server, deps.logger, server.maxConnections)
    return server as Server
  }

  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // The access line is written by the exchange's recorder, not by fastify.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    requestIdHeader: false,
    genReqId: requestIdOf,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    serverFactory,
    clientErrorHandler: clientErrorHandler(guards),
    frameworkErrors: frameworkErrors(guards)
  })

  // Bodies are streamed upstream untouched: no parser reads them.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => { done(null) })

  app.decorateRequest('exchange', null as unknown as Exchange)
  app.addHook('onRequest', (request, reply, done) => {
    const invokes = request.method === 'POST' && request.routeOptions.url === INVOCATIONS ? (request.params as { name: string }).name : undefined
    const ex = enter(request.raw, reply.raw, request.id, invokes)
    // Refused at the door and answered already: fastify goes no further with a hijacked reply.
    if (ex === undefined) reply.hijack()
    else request.exchange = ex
    done()
  })

  // Routes and the not-found handler throw contract errors; fastify's own request errors land
  // here too. Either way the answer is written by answerError, as on the fast path.
  app.setErrorHandler((err, request, reply) => {
    reply.hijack()
    answerError(deps.logger, request.exchange, err)
  })

  app.setNotFoundHandler(async (request) => {
    throw new EndpointNotFound(`no route for ${request.method} ${request.url.length > 100 ? '(long path)' : sanitize(request.url)}`)
  })

  app.post<{ Params: { name: string } }>(INVOCATIONS, (request, reply) => {
    reply.hijack()
    deps.handlers.invocation(request.exchange, request.params.name)
  })

  // The OpenAI-compatible paths reach fastify only with a method they do not take.
  for (const url of OPENAI_PATHS) {
    const allow = openAiRoute(url) === 'models' ? 'GET' : 'POST'
    app.route({
      method: app.supportedMethods.filter(m => m !== 'CONNECT'),
      url,
      handler: async () => {
        throw new MethodNotAllowed(`${url} takes ${allow}`, { headers: { allow } })
      }
    })
  }

  app.route({
    method: app.supportedMethods.filter(m => m !== 'POST' && m !== 'CONNECT'),
    url: INVOCATIONS,
    handler: async () => {
      throw new MethodNotAllowed('invocations take POST', { headers: { allow: 'POST' } })
    }
  })

  return app
}

function sanitize (s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?')
}
