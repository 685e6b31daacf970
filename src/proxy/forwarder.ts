// The forwarder: one invocation from the caller's Node request to the endpoint and back. It owns
// the body (buffered or streamed), the token, the dispatch through the origin's pool, the one
// replay after a 401, the one retry after a connect failure, the breaker, and the response
// written straight into the caller's ServerResponse with backpressure. It knows nothing of
// fastify: admission has happened before, and the caller's bookkeeping is `ForwardState`.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import type { Route } from '../endpoints/registry.js'
import { CallerGone, CircuitOpen, RoutegateError, UpstreamConnectFailed, UpstreamInvalidResponse, UpstreamTimeout, UpstreamUnavailable } from '../errors.js'
import type { TokenSpec } from '../tokens/broker.js'
import type { CircuitBreaker } from './breaker.js'
import { writeError } from './error-response.js'
import { AUTHORIZATION_SLOT, downstreamHeaders } from './headers.js'
import type { Pools } from './pools.js'
import { planBody, type BodyPlan } from './request-body.js'
import { upstreamError as upstreamErrorOf } from './upstream-errors.js'
import { UsageTap, type Usage } from './usage.js'

export interface TokenSource {
  /** The held token if fresh, synchronously (no promise in steady state). */
  fresh: (spec: TokenSpec) => string | undefined
  /** A usable token, minting if needed; rejects with TOKEN_UNAVAILABLE. */
  get: (spec: TokenSpec) => Promise<string>
  /** The endpoint refused `token`; true when that was news (evict related state once). */
  invalidate: (spec: TokenSpec, token: string) => boolean
  /** The endpoint accepted `token` (any answer but 401/403). */
  accepted: (spec: TokenSpec, token: string) => void
  /** Whether the held token was refused and is served only while the key backs off. */
  isRefused: (spec: TokenSpec) => boolean
}

export interface RouteSource {
  peek: (name: string) => Route | undefined
  resolve: (name: string) => Promise<Route>
  /** Forget discovered info (the data plane refused or lost the endpoint). */
  evict: (name: string) => void
}

export interface ForwarderDeps {
  pools: Pools
  tokens: TokenSource
  routes: RouteSource
  breakerFor: (endpoint: string) => CircuitBreaker
  /** Declared bodies up to this many bytes are read whole, so a 401 can be replayed once. */
  replayBufferBytes: number
  /** Monotonic clock in ms (performance.now). */
  now?: () => number
  /** Debug lines (a retried connect); never carries a secret. */
  debug?: (fields: Record<string, unknown>, msg: string) => void
}

/** What the forwarder tells the request's bookkeeping (metrics and the access log). */
export interface ForwardState {
  /** When the answering attempt was dispatched; 0 when nothing was dispatched. */
  dispatchedAt: number
  /** When the upstream's response headers arrived; 0 when none did. */
  headersAt: number
  /** Body bytes received from the caller so far. */
  bytesIn: () => number
  /** Body bytes written to the caller. */
  bytesOut: number
  replayed: boolean
  /** Response fields dropped because they held the scoped token. */
  tokenEchoes: number
  /** The upstream failed after the response started: the caller's response was aborted. */
  failure: RoutegateError | undefined
  /**
   * Why a started response was cut on the forwarder's side: the upstream broke off or went idle,
   * or the caller stopped reading for the idle timeout (a caller that left: see record.ts).
   */
  abort: 'upstream' | 'idle_timeout' | 'client_stalled' | undefined
  /** Token usage the answer reported (OpenAI-compatible routes only). */
  usage: Usage | undefined
}

const zero = (): number => 0

export function createForwardState (): ForwardState {
  return { dispatchedAt: 0, headersAt: 0, bytesIn: zero, bytesOut: 0, replayed: false, tokenEchoes: 0, failure: undefined, abort: undefined, usage: undefined }
}

export interface Invocation {
  req: IncomingMessage
  res: ServerResponse
  /** The configured endpoint name. */
  endpoint: string
  bodyLimitBytes: number
  /** From upstreamHeaders(): the Authorization slot is filled in per attempt. */
  headers: string[]
  /** Added to the upstream's response headers (x-request-id). */
  responseHeaders: readonly string[]
  /** For the JSON error of a failure before anything reached the caller. */
  requestId: string
  state: ForwardState
  /** The body, already read (and rewritten) by the route; else the caller's body is planned here. */
  body?: Buffer | undefined
  /** An OpenAI-compatible route: the answer's token usage is read as it passes, and the gateway's errors carry OpenAI's error object. */
  openai?: boolean
}

export interface Forwarder {
  /**
   * Forwards one invocation. Resolves once the upstream's response has started to flow to the
   * caller (its end, or its abort, shows on `res`). Rejects with a RoutegateError when nothing
   * was sent to the caller yet: the caller answers it.
   */
  forward: (inv: Invocation) => Promise<void>
}

type Outcome = 'relayed' | 'replay'

export function createForwarder (deps: ForwarderDeps): Forwarder {
  const now = deps.now ?? (() => performance.now())
  // `Bearer <token>` per route, built once per token rather than per request.
  const authorization = new WeakMap<Route, { token: string, value: string }>()
  function authorizationFor (route: Route, token: string): string {
    const memo = authorization.get(route)
    if (memo !== undefined && memo.token === token) return memo.value
    const value = `Bearer ${token}`
    authorization.set(route, { token, value })
    return value
  }

  async function tokenFor (route: Route): Promise<string> {
    return deps.tokens.fresh(route.token) ?? await deps.tokens.get(route.token)
  }

  /** One attempt through the breaker, with one retry on a new connection after a connect failure. */
  async function attempt (inv: Invocation, route: Route, token: string, plan: BodyPlan, replayOn401: boolean, link: CallerLink): Promise<Outcome> {
    const breaker = deps.breakerFor(route.name)
    for (let n = 1; ; n++) {
      const permit = breaker.allow()
      if (permit === false) {
        throw new CircuitOpen(`endpoint '${route.name}' keeps failing to connect: failing fast (circuit open)`,
          { headers: { 'retry-after': String(breaker.retryAfterSeconds()) } })
      }
      if (link.gone) {
        breaker.release(permit)
        throw new CallerGone('the caller went away before the request was sent')
      }
      inv.headers[AUTHORIZATION_SLOT] = authorizationFor(route, token)
      // A 401 is replayed only when a new token can come of it: not while the key is backing
      // off after refusals (the broker would hand out the same refused token).
      const relay = new Relay(inv, token, () => replayOn401 && !deps.tokens.isRefused(route.token), now, route.idleTimeoutMs)
      link.relay = relay
      inv.state.dispatchedAt = now()
      try {
        deps.pools.get(route.poolKey, route.origin, route).dispatch({
          method: 'POST',
          path: route.path,
          headers: inv.headers,
          body: plan.body,
          headersTimeout: route.timeoutMs,
          // An idle timeout between chunks, not a total cap: a live stream may run for minutes.
          bodyTimeout: route.idleTimeoutMs
        }, relay)
      } catch (err) {
        relay.onResponseError(undefined, err as Error)
      }
      try {
        const outcome = await relay.head
        breaker.success()
        return outcome
      } catch (err) {
        if (!(err instanceof UpstreamConnectFailed)) {
          breaker.release(permit)
          throw err
        }
        breaker.failure()
        // The endpoint may have moved (recreated): look it up again next time.
        deps.routes.evict(route.name)
        if (n > 1 || !plan.replayable || link.gone) throw err
        deps.debug?.({ endpoint: route.name, error_code: err.code }, 'connect failed: retrying once on a new connection')
      }
    }
  }

  return {
    async forward (inv) {
      const { req, res, state } = inv
      // The caller may have left while it was being admitted (a JWT key fetch): nothing to do.
      if (res.destroyed) throw new CallerGone('the caller went away before the request was forwarded')
      const link: CallerLink = { gone: false, relay: undefined }
      // The caller leaving cancels the upstream request, so its pool connection is freed.
      res.once('close', () => {
        if (res.writableFinished) return
        link.gone = true
        link.relay?.callerGone()
      })
      let plan: BodyPlan
      if (inv.body !== undefined) {
        const body = inv.body
        plan = { body, replayable: true, bytes: () => body.length }
      } else {
        // 100 Continue only now: the caller has been authenticated and admitted.
        if (req.headers.expect !== undefined && !res.headersSent) res.writeContinue()
        plan = await planBody(req, inv.bodyLimitBytes, deps.replayBufferBytes)
      }
      state.bytesIn = plan.bytes
      let route = deps.routes.peek(inv.endpoint) ?? await deps.routes.resolve(inv.endpoint)
      let token = await tokenFor(route)
      let replay = await attempt(inv, route, token, plan, plan.replayable, link)
      refusedCheck(route, token, link.relay?.status ?? 0)
      if (replay === 'replay' && !link.gone) {
        state.replayed = true
        route = await deps.routes.resolve(inv.endpoint)
        token = await tokenFor(route)
        replay = await attempt(inv, route, token, plan, false, link)
        refusedCheck(route, token, link.relay?.status ?? 0)
      }
    }
  }

  /** A 401/403 means the endpoint refused the token; a 404 for a discovered one, that it moved. */
  function refusedCheck (route: Route, token: string, status: number): void {
    if (status === 401 || status === 403) {
      if (deps.tokens.invalidate(route.token, token)) deps.routes.evict(route.name)
    } else if (status === 404 && route.discovered) {
      deps.routes.evict(route.name)
    } else {
      deps.tokens.accepted(route.token, token)
    }
  }
}

interface CallerLink {
  gone: boolean
  relay: Relay | undefined
}

type Mode = 'pending' | 'relay' | 'discard' | 'done'

const SSE = /^\s*text\/event-stream/i
const JSON_TYPE = /^\s*application\/(?:[A-Za-z0-9.+-]*\+)?json/i

/**
 * undici dispatch handler for one attempt: decides at the response headers whether to relay
 * (write them to the caller and stream the body with backpressure) or, for a 401 that will be
 * replayed, to drain the body quietly. `head` settles at that decision, or rejects with a
 * contract error when the attempt failed before any header reached the caller.
 */
class Relay implements Dispatcher.DispatchHandler {
  status = 0
  readonly head: Promise<Outcome>
  #resolve!: (o: Outcome) => void
  #reject!: (e: RoutegateError) => void
  #mode: Mode = 'pending'
  #controller: Dispatcher.DispatchController | undefined
  #gone = false
  #waiting = false
  #sse = false
  /** Response head not yet written (see onResponseStart). */
  #head: string[] | undefined
  /** The last two body bytes written, to end a partial SSE event before the error event. */
  #tail = ''
  /** Reads token usage off a successful answer (OpenAI-compatible routes). */
  #usage: UsageTap | undefined
  readonly #inv: Invocation
  readonly #token: string
  readonly #replayOn401: () => boolean
  readonly #now: () => number
  /** How long the caller may leave the response unread (backpressure) before it is cut. */
  readonly #stallMs: number
  #stall: NodeJS.Timeout | undefined

  constructor (inv: Invocation, token: string, replayOn401: () => boolean, now: () => number, stallMs: number) {
    this.#inv = inv
    this.#stallMs = stallMs
    this.#token = token
    this.#replayOn401 = replayOn401
    this.#now = now
    this.head = new Promise<Outcome>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  callerGone (): void {
    this.#gone = true
    this.#clearStall()
    this.#controller?.abort(new CallerGone('request cancelled: the caller went away'))
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#gone) controller.abort(new CallerGone('request cancelled: the caller went away'))
  }

  onResponseStart (controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.#mode !== 'pending') return
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      // 1xx never reach here (undici handles them); anything else is not HTTP we can pass on.
      controller.abort(new UpstreamInvalidResponse(`endpoint answered with status ${String(status).slice(0, 8)}`))
      return
    }
    this.status = status
    this.#inv.state.headersAt = this.#now()
    if (status === 401 && this.#replayOn401()) {
      this.#mode = 'discard'
      this.#resolve('replay')
      return
    }
    const out = downstreamHeaders(headers, this.#token, this.#inv.responseHeaders)
    this.#inv.state.tokenEchoes = out.tokenEchoes
    const type = headers['content-type']
    // A coded (compressed) stream cannot take a plain-text error event: it is only cut.
    const coded = headers['content-encoding'] !== undefined && String(headers['content-encoding']).toLowerCase() !== 'identity'
    this.#sse = typeof type === 'string' && SSE.test(type) && !coded
    // An event stream must reach the caller event by event: tell a buffering proxy in front
    // (nginx) not to hold it back, unless the endpoint said otherwise.
    if (this.#sse && headers['x-accel-buffering'] === undefined) out.headers.push('x-accel-buffering', 'no')
    if (this.#inv.openai === true && !coded && status < 300 && typeof type === 'string' && (this.#sse || JSON_TYPE.test(type))) this.#usage = new UsageTap(this.#sse)
    // The head is written with the first body bytes (or at the end, or on the next turn at the
    // latest): an answer that turns out invalid within the same read can still become a proper
    // 502 instead of a cut connection.
    this.#head = out.headers
    // 204 and 304 carry no body: their head waits for the end, so bytes where none may be
    // (a body on a 304) still make a whole 502.
    if (status !== 204 && status !== 304) setImmediate(this.#flushSoon)
    this.#mode = 'relay'
    this.#resolve('relayed')
  }

  /** Writes the pending head; false when Node refused it (then the upstream answer is invalid). */
  #writeHead (): boolean {
    const head = this.#head
    if (head === undefined) return true
    this.#head = undefined
    try {
      this.#inv.res.writeHead(this.status, head)
      return true
    } catch {
      // Node refused the head: nothing reached the caller, who gets a whole 502; the upstream
      // request is dropped (its later events find the relay done).
      const failure = new UpstreamInvalidResponse('endpoint answered with headers that cannot be passed on')
      this.#mode = 'done'
      this.#inv.state.failure = failure
      writeError(this.#inv.res, failure, this.#inv.requestId, this.#inv.openai === true ? 'both' : 'databricks')
      this.#controller?.abort(failure)
      return false
    }
  }

  readonly #flushSoon = (): void => {
    if (this.#head === undefined || this.#mode !== 'relay') return
    if (this.#writeHead() && !this.#inv.res.destroyed) this.#inv.res.flushHeaders()
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#mode !== 'relay' || !this.#writeHead()) return
    const { res, state } = this.#inv
    state.bytesOut += chunk.length
    this.#usage?.push(chunk)
    if (this.#sse) this.#tail = chunk.length >= 2 ? chunk.toString('latin1', chunk.length - 2) : this.#tail.slice(-1) + chunk.toString('latin1')
    if (!res.write(chunk)) {
      controller.pause()
      if (!this.#waiting) {
        this.#waiting = true
        res.once('drain', this.#onDrain)
        // A paused upstream body has no body timeout (undici stops its timer while paused): a
        // caller that never reads again would hold the pool connection and its slot forever.
        this.#stall = setTimeout(this.#onStall, this.#stallMs)
        this.#stall.unref()
      }
    }
  }

  readonly #onDrain = (): void => {
    this.#waiting = false
    this.#clearStall()
    this.#controller?.resume()
  }

  readonly #onStall = (): void => {
    this.#stall = undefined
    if (this.#mode !== 'relay' || this.#gone) return
    this.#mode = 'done'
    this.#gone = true
    this.#inv.state.abort = 'client_stalled'
    this.#inv.res.off('drain', this.#onDrain)
    this.#controller?.abort(new CallerGone('the caller stopped reading the response'))
    this.#inv.res.destroy()
  }

  #clearStall (): void {
    if (this.#stall === undefined) return
    clearTimeout(this.#stall)
    this.#stall = undefined
  }

  onResponseEnd (): void {
    this.#clearStall()
    const mode = this.#mode
    if (mode === 'relay' && this.#writeHead()) {
      this.#mode = 'done'
      if (this.#usage !== undefined) this.#inv.state.usage = this.#usage.usage()
      this.#inv.res.end()
    } else if (mode !== 'relay') {
      this.#mode = 'done'
    }
  }

  onResponseError (_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.#clearStall()
    const mode = this.#mode
    this.#mode = 'done'
    if (mode === 'pending') {
      this.#reject(upstreamErrorOf(err))
      return
    }
    // A drained 401 that failed changes nothing: the replay goes on.
    if (mode !== 'relay' || this.#gone) return
    const mapped = upstreamErrorOf(err)
    if (mapped instanceof CallerGone) return
    // After the headers the contract knows one outcome: 502, the response aborted.
    const failure = mapped instanceof UpstreamUnavailable ? mapped : new UpstreamUnavailable(mapped.message, { cause: mapped.cause ?? err })
    this.#inv.state.failure = failure
    if (this.#head !== undefined) {
      // Nothing reached the caller yet: it gets a whole 502 rather than a cut connection.
      this.#head = undefined
      writeError(this.#inv.res, failure, this.#inv.requestId, this.#inv.openai === true ? 'both' : 'databricks')
      return
    }
    this.#inv.state.abort = mapped instanceof UpstreamTimeout ? 'idle_timeout' : 'upstream'
    abortResponse(this.#inv.res, this.#sse ? this.#tail : undefined, failure)
  }
}

/**
 * Ends a started response as failed: never a clean end. An event stream first gets its partial
 * event ended and one last error event, so SSE clients see why; then the connection is cut.
 */
export function abortResponse (res: ServerResponse, sseTail: string | undefined, failure: RoutegateError): void {
  if (sseTail === undefined || !res.writable) {
    res.destroy()
    return
  }
  const end = sseTail.endsWith('\n\n') || sseTail === '' ? '' : sseTail.endsWith('\n') ? '\n' : '\n\n'
  const event = `${end}data: ${JSON.stringify({ error: { message: failure.message, type: 'api_error', code: failure.code } })}\n\n`
  res.write(event, () => res.destroy())
  // Should the write never flush (the caller stopped reading), do not wait for it.
  setTimeout(() => res.destroy(), 1000).unref()
}
