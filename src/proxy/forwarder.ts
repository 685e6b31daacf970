// The forwarder: one invocation from the caller's Node request to the endpoint and back. It owns
// the body (buffered or streamed), the token, the dispatch through the origin's pool, the one
// replay after a 401, the one retry after a connect failure and the breaker; each attempt's
// answer is relayed into the caller's ServerResponse by a Relay (relay.ts). It knows nothing of
// fastify: admission has happened before, and the caller's bookkeeping is `ForwardState`.
import type { ErrorShape } from './error-response.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Route } from '../endpoints/registry.js'
import { CallerGone, CircuitOpen, RoutegateError, UpstreamConnectFailed } from '../errors.js'
import type { TokenSpec } from '../tokens/broker.js'
import type { CircuitBreaker } from './breaker.js'
import { AUTHORIZATION_SLOT } from './headers.js'
import type { Pools } from './pools.js'
import { Relay, type Outcome } from './relay.js'
import { planBody, type BodyPlan } from './request-body.js'
import type { Usage } from './usage.js'

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
  /** The error shape the exchange answers in (decided once, from its URL: exchange.ts). */
  shape: ErrorShape
  state: ForwardState
  /** The body, already read (and rewritten) by the route; else the caller's body is planned here. */
  body?: Buffer | undefined
  /** An OpenAI-compatible route: the answer's token usage is read as it passes, and the gateway's errors carry OpenAI's error object. */
  openai?: boolean
  /** The caller asked for base64 embeddings: a JSON answer of numbers is re-encoded (embeddings.ts). */
  embeddingsBase64?: boolean
}

export interface Forwarder {
  /**
   * Forwards one invocation. Resolves once the upstream's response has started to flow to the
   * caller (its end, or its abort, shows on `res`). Rejects with a RoutegateError when nothing
   * was sent to the caller yet: the caller answers it.
   */
  forward: (inv: Invocation) => Promise<void>
}

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
