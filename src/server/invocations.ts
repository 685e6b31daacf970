// The invocation route, `POST /serving-endpoints/{name}/invocations`: admission steps in order,
// then the forwarder. Mounted twice with the same behaviour: as a node:http fast path for plain
// names (no fastify per-request work), and as a hijacked fastify route for everything fastify
// decodes first (percent-encoded names).
import type { Logger } from 'pino'
import type { AuthRequest, AuthResult } from '../callers/identity.js'
import type { EndpointConfig } from '../config/load.js'
import { CallerGone, InternalError, RoutegateError } from '../errors.js'
import type { ConcurrencyLimiter } from '../limits/concurrency.js'
import type { RateLimiter } from '../limits/rate.js'
import type { Metrics } from '../metrics/index.js'
import type { Forwarder } from '../proxy/forwarder.js'
import { writeError } from '../proxy/error-response.js'
import { upstreamHeaders } from '../proxy/headers.js'
import { checkAllowed, checkLoad, checkProtocol, checkRate, identify, routeTo, takeSlot } from './admission.js'
import type { Exchange } from './exchange.js'
import { checkDeclaredLength } from '../proxy/request-body.js'

export interface InvocationDeps {
  endpoint: (name: string) => EndpointConfig | undefined
  authenticate: (req: AuthRequest) => Promise<AuthResult>
  rate: RateLimiter
  concurrency: ConcurrencyLimiter
  overloaded: () => boolean
  forwarder: Forwarder
  metrics: Pick<Metrics, 'endpointSeries'>
  maxHeaderCount: number
  trustProxy: boolean
  /** Whether the listener is TLS (X-Forwarded-Proto). */
  tls: boolean
  logger: Logger
}

const PREFIX = '/serving-endpoints/'
const SUFFIX = '/invocations'
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/

/**
 * The endpoint name of an invocation URL whose name needs no decoding, or undefined (then
 * fastify routes the request). A query string is ignored, as the router ignores it.
 */
export function invocationName (url: string | undefined): string | undefined {
  if (url === undefined || !url.startsWith(PREFIX)) return undefined
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  if (!path.endsWith(SUFFIX)) return undefined
  const name = path.slice(PREFIX.length, path.length - SUFFIX.length)
  return PLAIN_NAME.test(name) && name !== '.' && name !== '..' ? name : undefined
}

export function createInvocationHandler (deps: InvocationDeps): (ex: Exchange, name: string) => void {
  async function admitAndForward (ex: Exchange, name: string): Promise<void> {
    const { req, res } = ex
    const configured = deps.endpoint(name)
    // A refusal for a configured endpoint is counted under it, even before the caller is known.
    if (configured !== undefined) ex.endpoint = configured.name
    checkLoad(deps.overloaded())
    checkProtocol(req, deps.maxHeaderCount)
    const auth = await identify(deps.authenticate, req)
    // Identification may wait (a JWT key fetch): a caller gone by now takes no slot.
    if (res.destroyed) throw new CallerGone('the caller went away during authentication')
    ex.caller = auth.caller.name
    ex.via = auth.via
    ex.keyIndex = auth.keyIndex
    checkRate(deps.rate, auth.caller)
    const endpoint = routeTo(configured, name)
    checkAllowed(auth.caller, endpoint)
    const release = takeSlot(deps.concurrency, auth.caller)
    // Freed when the response finishes or the caller goes away, whichever comes first.
    if (release !== undefined) res.once('close', release)
    checkDeclaredLength(req, endpoint.bodyLimitBytes)
    // The exchange keeps the series it counted in, so the decrement hits the same one even if
    // a reload removes the endpoint meanwhile.
    ex.series = deps.metrics.endpointSeries(endpoint.name)
    ex.series.inflight.inc()
    ex.inflight = true
    await deps.forwarder.forward({
      req,
      res,
      endpoint: endpoint.name,
      bodyLimitBytes: endpoint.bodyLimitBytes,
      headers: upstreamHeaders(req.headers, {
        requestId: ex.id,
        traceparent: ex.trace.upstream,
        tracestate: ex.trace.tracestate,
        peer: req.socket.remoteAddress,
        tls: deps.tls,
        trustProxy: deps.trustProxy
      }),
      responseHeaders: ['x-request-id', ex.id],
      requestId: ex.id,
      state: ex.forward
    })
  }

  function fail (ex: Exchange, err: unknown): void {
    if (!(err instanceof RoutegateError)) {
      // Not a contract error: a bug. The main logger (with redaction) keeps its stack.
      deps.logger.error({ err, requestId: ex.id }, 'unexpected error on the request path')
      ex.error = new InternalError('internal error', { cause: err })
    } else {
      ex.error = err
    }
    writeError(ex.res, ex.error as RoutegateError, ex.id)
  }

  return function handle (ex, name) {
    admitAndForward(ex, name).catch((err: unknown) => { fail(ex, err) })
  }
}
