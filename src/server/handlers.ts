// The gateway's request handlers: the invocation route, the OpenAI-compatible routes and the
// model list. Each takes an exchange that has passed the door (admission.ts `admitRequest`,
// run by gateway.ts), composes the caller and target admission steps in the contract's order
// and hands an admitted request to the forwarder; an error on the way is answered by
// errors.ts `answerError`. They know neither fastify nor the listener: gateway.ts decides which
// handler a request gets.
import type { Logger } from 'pino'
import type { AuthRequest, AuthResult, Caller } from '../callers/identity.js'
import { authorize } from '../callers/authorize.js'
import type { EndpointConfig } from '../config/load.js'
import { CallerGone, EndpointNotFound, PayloadTooLarge } from '../errors.js'
import type { ConcurrencyLimiter } from '../limits/concurrency.js'
import type { Governor } from '../limits/governor.js'
import { reserveTokens } from '../limits/reserve.js'
import { codeLabel, type Metrics } from '../metrics/index.js'
import { asksBase64Embeddings } from '../proxy/embeddings.js'
import { writeJson } from '../proxy/error-response.js'
import type { Forwarder } from '../proxy/forwarder.js'
import { answerHeaders, upstreamHeaders } from '../proxy/headers.js'
import { checkDeclaredLength, readBounded } from '../proxy/request-body.js'
import { checkAllowed, checkLimits, identify, routeTo, takeSlot, usedTokens } from './admission.js'
import { CLIENT_REQUEST_ID, clientRequestIdValue, withClientRequestId } from './client-request-id.js'
import { answerError } from './errors.js'
import { ObjectScanner, type ScanResult } from './json-scan.js'
import type { Exchange } from './exchange.js'
import { bypasses, cacheKey, type CachedAnswer } from '../cache/response-cache.js'
import { captureAnswer } from '../cache/capture.js'
import { fallbackOrder } from '../proxy/fallback.js'
import type { ShadowSender } from '../proxy/shadow.js'
import type { EndpointFeatures } from './features.js'
import { checkJsonBody, createModelSplitter, echoableModel, modelList, type OpenAiRoute } from './openai.js'

export interface HandlerDeps {
  endpoint: (name: string) => EndpointConfig | undefined
  /** The configured endpoint names, in config order. */
  names: () => readonly string[]
  authenticate: (req: AuthRequest) => Promise<AuthResult>
  /** Rate and token limits (cluster-wide with a store). */
  governor: Governor
  concurrency: ConcurrencyLimiter
  forwarder: Forwarder
  /** The opt-in features of an endpoint (cache, shadow, hedge, fallback), if it uses any. */
  features?: (name: string) => EndpointFeatures | undefined
  shadows?: ShadowSender
  metrics: Pick<Metrics, 'endpointSeries'>
  trustProxy: boolean
  /** Whether the listener is TLS (X-Forwarded-Proto). */
  tls: boolean
  /** Most bytes an OpenAI-compatible request body may have before its `model` is known (server.openaiBodyLimitBytes). */
  openaiBodyLimitBytes: number
  /** When the config was loaded (ms since the epoch): `created` of the model list. */
  loadedAt: number
  logger: Logger
}

export interface Handlers {
  /**
   * Labels an invocation's exchange with the configured endpoint its URL names, if any, before
   * the door: a refusal of a configured endpoint is counted under it, even before the caller is known.
   */
  label: (ex: Exchange, name: string) => void
  /** `POST /serving-endpoints/{name}/invocations`. */
  invocation: (ex: Exchange, name: string) => void
  /** `POST …/chat/completions`, `…/completions`, `…/embeddings`: routed by the body's `model`. */
  openai: (ex: Exchange, route: Exclude<OpenAiRoute, 'models'>) => void
  /** `GET /v1/models`, `GET /serving-endpoints/models`: the endpoints the caller may use. */
  models: (ex: Exchange) => void
}

export function createHandlers (deps: HandlerDeps): Handlers {
  // The largest body any endpoint takes: an OpenAI request is read up to this (and to
  // openaiBodyLimitBytes) before its `model` says which endpoint's own limit applies.
  // A generation's endpoints do not change, so this is worked out once.
  let largest: number | undefined
  const largestBody = (): number => {
    if (largest === undefined) {
      largest = 0
      for (const name of deps.names()) largest = Math.max(largest, deps.endpoint(name)?.bodyLimitBytes ?? 0)
    }
    return largest
  }

  /** Identity: what every route checks, after the door, before looking at its target. */
  async function admitCaller (ex: Exchange): Promise<Caller> {
    const auth = await identify(deps.authenticate, ex.req)
    // Identification may wait (a JWT key fetch): a caller gone by now takes no slot.
    if (ex.res.destroyed) throw new CallerGone('the caller went away during authentication')
    ex.caller = auth.caller.name
    ex.via = auth.via
    ex.keyIndex = auth.keyIndex
    return auth.caller
  }

  /**
   * After an await (the store's decision, a body read): a caller that went away meanwhile takes
   * nothing more (its 'close' has fired, so a slot or gauge taken now would never be given back).
   */
  function stillThere (ex: Exchange): void {
    if (ex.res.destroyed) throw new CallerGone('the caller went away during admission')
  }

  /** Holds a concurrency slot until the response finishes or the caller goes away. */
  function holdSlot (ex: Exchange, caller: Caller): void {
    const release = takeSlot(deps.concurrency, caller)
    if (release !== undefined) ex.res.once('close', release)
  }

  async function forward (ex: Exchange, endpoint: EndpointConfig, caller: Caller, rewritten?: Buffer, embeddingsBase64 = false): Promise<void> {
    const { req, res } = ex
    const features = deps.features?.(endpoint.name)
    let attribution: ScanResult | undefined
    if (rewritten === undefined && (features?.cache !== undefined || endpoint.clientRequestId)) {
      // The cache keys on the body's bytes and attribution edits them: read it whole (within the
      // endpoint's limit), scanned for client_request_id as it arrives when that is asked for.
      if (req.headers.expect !== undefined && !res.headersSent) res.writeContinue()
      const scanner = endpoint.clientRequestId ? new ObjectScanner({ name: CLIENT_REQUEST_ID }) : undefined
      rewritten = await readBounded(req, endpoint.bodyLimitBytes, scanner === undefined ? undefined : (chunk) => { scanner.write(chunk) })
      attribution = scanner?.end()
    }
    stillThere(ex)
    // The exchange keeps the series it counted in, so the decrement hits the same one even if
    // a reload removes the endpoint meanwhile.
    ex.series = deps.metrics.endpointSeries(endpoint.name)
    ex.series.inflight.inc()
    ex.inflight = true
    const headers = upstreamHeaders(req.headers, {
      requestId: ex.id,
      traceparent: ex.trace.upstream,
      tracestate: ex.trace.tracestate,
      peer: req.socket.remoteAddress,
      tls: deps.tls,
      trustProxy: deps.trustProxy
    })
    // A body read here has a length of its own: undici sets it from the Buffer.
    if (rewritten !== undefined) withoutField(headers, 'content-length')
    if (ex.route !== undefined) {
      // The answer must stay readable on its way through (usage; an SSE error event on failure).
      withoutField(headers, 'accept-encoding')
      headers.push('accept-encoding', 'identity')
    }
    const responseHeaders = answerHeaders(ex.id)
    const series = ex.series
    let tap: ReturnType<typeof captureAnswer> | undefined
    let settle: ((a: CachedAnswer | undefined) => void) | undefined
    const cache = features?.cache
    if (cache !== undefined && rewritten !== undefined) {
      if (embeddingsBase64 || bypasses(req.headers['cache-control'])) {
        // A base64 embeddings answer is re-encoded on its way: the bytes to keep are not the endpoint's.
        ex.forward.cache = 'bypass'
      } else {
        const key = cacheKey(endpoint.name, cache.perCaller ? caller.name : undefined, rewritten)
        let look = cache.store.lookup(key)
        if (look.result === 'coalesced') {
          const shared = await look.wait
          if (shared !== undefined) return answerFromCache(ex, shared, 'coalesced')
          look = cache.store.lookup(key)
        }
        if (look.result === 'hit') return answerFromCache(ex, look.answer, 'hit')
        ex.forward.cache = 'miss'
        if (look.result === 'miss') {
          settle = look.settle
          tap = captureAnswer(cache.store.maxEntryBytes, look.settle)
          // However the request ends, waiters are released (settle is idempotent).
          res.once('close', () => { settle?.(undefined) })
        }
      }
      series.cache(ex.forward.cache).inc()
      responseHeaders.push('x-routegate-cache', ex.forward.cache === 'bypass' ? 'bypass' : 'miss')
    }
    // After the cache look-up: the id is unique per request, so the key is the body without it.
    if (endpoint.clientRequestId && rewritten !== undefined) rewritten = attributed(rewritten, attribution, caller.name, ex.id)
    const shadow = features?.shadow
    const fallbacks = features === undefined || features.fallback.length === 0
      ? undefined
      : fallbackOrder(endpoint.name, features.fallback, name => {
        const e = deps.endpoint(name)
        return e !== undefined && authorize(caller, name, e.action).ok
      })
    const hedge = features?.hedge
    try {
      await deps.forwarder.forward({
        req,
        res,
        tap,
        fallbacks,
        onFallback: fallbacks === undefined ? undefined : (to) => { series.fallback(to).inc() },
        hedge: hedge === undefined ? undefined : { budget: hedge, count: (r) => { series.hedges(r).inc() } },
        sent: shadow === undefined ? undefined : (body) => { sendShadow(endpoint.name, shadow, headers, body) },
        endpoint: endpoint.name,
        bodyLimitBytes: endpoint.bodyLimitBytes,
        headers,
        responseHeaders,
        requestId: ex.id,
        state: ex.forward,
        body: rewritten,
        shape: ex.shape,
        openai: ex.route !== undefined,
        embeddingsBase64
      })
    } catch (err) {
      settle?.(undefined)
      throw err
    }
  }

  /**
   * Attribution (client-request-id.ts): a JSON object body without a top-level
   * `client_request_id` gets `<caller>:<request id>` as its first member; any other body is
   * forwarded as it came. `scan` is the body's scan when it was made as the body arrived.
   */
  function attributed (body: Buffer, scan: ScanResult | undefined, caller: string, id: string): Buffer {
    if (scan === undefined) {
      const scanner = new ObjectScanner({ name: CLIENT_REQUEST_ID })
      scanner.write(body)
      scan = scanner.end()
    }
    return scan.verdict === 'object' && scan.member.kind === 'missing' ? withClientRequestId(body, clientRequestIdValue(caller, id)) : body
  }

  /** A cache hit (or a coalesced miss's shared answer): 200 from memory, no token, no upstream call. */
  function answerFromCache (ex: Exchange, answer: CachedAnswer, result: 'hit' | 'coalesced'): void {
    ex.forward.cache = result
    ex.series?.cache(result).inc()
    ex.forward.bytesOut = answer.body.length
    if (ex.res.destroyed) return
    ex.res.writeHead(200, ['content-type', answer.contentType, 'content-length', String(answer.body.length), 'x-request-id', ex.id, 'x-routegate-cache', 'hit'])
    ex.res.end(answer.body)
  }

  /**
   * The shadow copy of a request the forwarder has just sent: sampled and bounded by the gate,
   * then fire and forget. Its status and latency count under the shadow endpoint's own label.
   */
  function sendShadow (primary: string, shadow: NonNullable<EndpointFeatures['shadow']>, headers: readonly string[], body: Buffer | undefined): void {
    const sender = deps.shadows
    if (sender === undefined) return
    const decision = shadow.gate.admit(body?.length)
    const counts = deps.metrics.endpointSeries(primary)
    if (!decision.send) {
      if (decision.why !== 'unsampled') counts.shadow(decision.why).inc()
      return
    }
    counts.shadow('sent').inc()
    const own = deps.metrics.endpointSeries(shadow.to)
    sender.send(shadow.to, headers, body as Buffer, (o) => {
      decision.release()
      if (o.ok) {
        // Dispatch to response headers, as for the endpoint's own requests.
        own.upstream.observe(o.ms / 1000)
        own.requests(codeLabel(o.status)).inc()
      } else {
        counts.shadow('failed').inc()
      }
    })
  }

  async function invocation (ex: Exchange, name: string): Promise<void> {
    const caller = await admitCaller(ex)
    const endpoint = routeTo(deps.endpoint(name), name)
    checkAllowed(caller, endpoint)
    // Without limits the fast path takes no extra promise turn.
    if (caller.limits !== undefined || endpoint.limits !== undefined) {
      ex.limit = (await checkLimits(deps.governor, { caller, endpoint })).as
      stillThere(ex)
    }
    holdSlot(ex, caller)
    checkDeclaredLength(ex.req, endpoint.bodyLimitBytes)
    await forward(ex, endpoint, caller)
  }

  async function openai (ex: Exchange, route: string): Promise<void> {
    ex.route = route
    const caller = await admitCaller(ex)
    checkJsonBody(ex.req)
    holdSlot(ex, caller)
    // Read before routing: at most openaiBodyLimitBytes, and never more than any endpoint takes.
    const limit = Math.min(deps.openaiBodyLimitBytes, largestBody())
    checkDeclaredLength(ex.req, limit)
    if (ex.req.headers.expect !== undefined && !ex.res.headersSent) ex.res.writeContinue()
    // Scanned chunk by chunk as it arrives (docs/http.md "OpenAI-compatible routes"): never parsed.
    const splitter = createModelSplitter()
    const raw = await readBounded(ex.req, limit, splitter.write)
    const { model, body } = splitter.end(raw)
    const configured = model === undefined ? undefined : deps.endpoint(model)
    if (configured !== undefined) ex.endpoint = configured.name
    const endpoint = configured ?? notFound(model ?? '')
    checkAllowed(caller, endpoint)
    if (raw.length > endpoint.bodyLimitBytes) throw new PayloadTooLarge(`request body is larger than ${endpoint.bodyLimitBytes} bytes`)
    const budgeted = hasTokenLimits(caller.limits) || hasTokenLimits(endpoint.limits)
    const tokens = budgeted ? reserveTokens(raw, route, caller.limits?.defaultReserveTokens ?? endpoint.limits?.defaultReserveTokens ?? DEFAULT_RESERVE) : undefined
    const { as, reservation } = await checkLimits(deps.governor, { caller, endpoint, tokens })
    if (caller.limits !== undefined || endpoint.limits !== undefined) ex.limit = as
    if (ex.res.destroyed) {
      // Gone while the store decided: nothing was sent, so nothing was spent.
      reservation?.settle(0)
      stillThere(ex)
    }
    // Settled when the answer ends: its usage, a refund, or the reservation kept.
    if (reservation !== undefined) ex.res.once('close', () => { reservation.settle(usedTokens(ex.forward, ex.res.statusCode)) })
    // The caller's SDK decodes base64: an answer of numbers is re-encoded on its way back.
    await forward(ex, endpoint, caller, body, route === 'embeddings' && asksBase64Embeddings(raw))
  }

  async function models (ex: Exchange): Promise<void> {
    ex.route = 'models'
    const caller = await admitCaller(ex)
    if (caller.limits !== undefined) {
      ex.limit = (await checkLimits(deps.governor, { caller })).as
      stillThere(ex)
    }
    const names = deps.names().filter(name => {
      const e = deps.endpoint(name)
      return e !== undefined && authorize(caller, name, e.action).ok
    })
    const body = JSON.stringify(modelList(names, deps.loadedAt))
    writeJson(ex.res, 200, body, ex.id)
  }

  const fail = (ex: Exchange, err: unknown): void => { answerError(deps.logger, ex, err) }

  return {
    label: (ex, name) => {
      const configured = deps.endpoint(name)
      if (configured !== undefined) ex.endpoint = configured.name
    },
    invocation: (ex, name) => { invocation(ex, name).catch((err: unknown) => { fail(ex, err) }) },
    openai: (ex, route) => { openai(ex, route).catch((err: unknown) => { fail(ex, err) }) },
    models: (ex) => { models(ex).catch((err: unknown) => { fail(ex, err) }) }
  }
}

/** The schema's default of limits.defaultReserveTokens, for limits built in code without it. */
const DEFAULT_RESERVE = 1024

function hasTokenLimits (limits: { tokensPerMinute?: number | undefined, tokensPerDay?: number | undefined } | undefined): boolean {
  return limits?.tokensPerMinute !== undefined || limits?.tokensPerDay !== undefined
}

function notFound (model: string): never {
  throw new EndpointNotFound(echoableModel(model) ? `no endpoint named '${model}' (the request's model)` : "the request's model names no endpoint")
}

/** Removes every `name` pair from a flat header list. */
function withoutField (headers: string[], name: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (headers[i] === name) headers.splice(i, 2)
  }
}
