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
import { fallsBack } from './fallback.js'
import { asksForStream, type HedgeBudget } from './hedge-budget.js'
import { HedgeRace, Relay, type AnswerTap, type Outcome } from './relay.js'
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
  /** The cache's part (endpoints with a cache): hit, miss, bypass or coalesced. */
  cache: 'hit' | 'miss' | 'bypass' | 'coalesced' | undefined
  /** The fallback endpoint that answered, when the request went to one. */
  fallback: string | undefined
  /** A hedged request: whether the hedge (won) or the first attempt (wasted) answered. */
  hedge: 'won' | 'wasted' | undefined
}

const zero = (): number => 0

export function createForwardState (): ForwardState {
  return { dispatchedAt: 0, headersAt: 0, bytesIn: zero, bytesOut: 0, replayed: false, tokenEchoes: 0, failure: undefined, abort: undefined, usage: undefined, cache: undefined, fallback: undefined, hedge: undefined }
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
  /** Sees the relayed answer (the response cache). */
  tap?: AnswerTap | undefined
  /** Set by the forwarder while a fallback remains: a status it answers true for is not relayed. */
  divert?: ((status: number) => boolean) | undefined
  /** Endpoints to go on to, in order, when this one cannot answer (already filtered for the caller). */
  fallbacks?: readonly string[] | undefined
  /** Counts a request sent to fallback `to`. */
  onFallback?: ((to: string) => void) | undefined
  /** Hedging for this request (only for a non-streaming one; the body must be replayable too). */
  hedge?: HedgeOptions | undefined
  /** Called once the first attempt is dispatched, with the body when it is held whole (shadow traffic). */
  sent?: ((body: Buffer | undefined) => void) | undefined
}

export interface HedgeOptions {
  budget: HedgeBudget
  /** Counts sent / won / wasted / budget_exhausted. */
  count: (result: 'sent' | 'won' | 'wasted' | 'budget_exhausted') => void
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
      const hedge = inv.hedge !== undefined && plan.replayable && Buffer.isBuffer(plan.body) && !asksForStream(plan.body) ? inv.hedge : undefined
      const race = hedge === undefined ? undefined : new HedgeRace()
      const relay = dispatch(inv, route, token, plan, replayOn401, link, race, 'relay')
      if (inv.sent !== undefined) {
        // Once per request: not again for a 401 replay or a fallback.
        const sent = inv.sent
        inv.sent = undefined
        sent(plan.replayable && Buffer.isBuffer(plan.body) ? plan.body : undefined)
      }
      try {
        const outcome = hedge === undefined || race === undefined
          ? await relay.head
          : await hedged(relay, () => dispatch(inv, route, token, plan, replayOn401, link, race, 'hedge'), hedge, breaker, inv, link)
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

  /** Sends one attempt through the origin's pool; its Relay settles at the response headers. */
  function dispatch (inv: Invocation, route: Route, token: string, plan: BodyPlan, replayOn401: boolean, link: CallerLink, race: HedgeRace | undefined, slot: 'relay' | 'hedge'): Relay {
    // A 401 is replayed only when a new token can come of it: not while the key is backing
    // off after refusals (the broker would hand out the same refused token).
    const relay = new Relay(inv, token, () => replayOn401 && !deps.tokens.isRefused(route.token), now, route.idleTimeoutMs, race)
    link[slot] = relay
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
    return relay
  }

  /**
   * Waits for the first attempt; when it has not answered after the hedge delay (and the budget
   * and the breaker allow), sends a second one and takes whichever answers first (the race
   * cancels the other). An attempt that fails leaves the other to answer.
   */
  async function hedged (first: Relay, second: () => Relay, hedge: HedgeOptions, breaker: CircuitBreaker, inv: Invocation, link: CallerLink): Promise<Outcome> {
    const started = now()
    hedge.budget.request()
    const delay = hedge.budget.delayMs()
    const observe = (o: Outcome): Outcome => { hedge.budget.observe(now() - started); return o }
    if (delay === undefined) return observe(await first.head)
    let timer: NodeJS.Timeout | undefined
    const slow = await Promise.race([
      first.head.then(() => false, () => false),
      new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(true), delay) })
    ])
    clearTimeout(timer)
    if (!slow) return observe(await first.head)
    // An open (or probing) circuit means the endpoint is failing: a second attempt only adds load.
    if (breaker.state !== 'closed') return observe(await first.head)
    if (hedge.budget.tryHedge() !== true) {
      hedge.count('budget_exhausted')
      return observe(await first.head)
    }
    hedge.count('sent')
    const other = second()
    const won = await firstAnswer(first, other)
    // The winner's status is what the token and route bookkeeping read.
    link.relay = won[0]
    const result = won[0] === other ? 'won' : 'wasted'
    inv.state.hedge = result
    hedge.count(result)
    return observe(won[1])
  }

  /**
   * One endpoint's go at the invocation: its route, its token, the attempt and the one replay
   * after a 401. Resolves 'divert' when the answer (429/503) is left for a fallback.
   */
  async function viaEndpoint (inv: Invocation, name: string, plan: BodyPlan, link: CallerLink): Promise<Outcome> {
    const { state } = inv
    let route = deps.routes.peek(name) ?? await deps.routes.resolve(name)
    let token = await tokenFor(route)
    let outcome = await attempt(inv, route, token, plan, plan.replayable, link)
    refusedCheck(route, token, link.relay?.status ?? 0)
    if (outcome === 'replay' && !link.gone) {
      state.replayed = true
      route = await deps.routes.resolve(name)
      token = await tokenFor(route)
      outcome = await attempt(inv, route, token, plan, false, link)
      refusedCheck(route, token, link.relay?.status ?? 0)
    }
    return outcome
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
        link.hedge?.callerGone()
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
      // Fallbacks need the body again: only a body held whole can go to a second endpoint.
      const next = plan.replayable ? [...(inv.fallbacks ?? [])] : []
      let name = inv.endpoint
      for (;;) {
        inv.divert = next.length > 0 ? fallsBack : undefined
        let outcome: Outcome
        try {
          outcome = await viaEndpoint(inv, name, plan, link)
        } catch (err) {
          if (next.length === 0 || link.gone || res.headersSent || !(err instanceof RoutegateError) || !fallsBack(err)) throw err
          outcome = 'divert'
        }
        if (outcome !== 'divert' || link.gone) return
        name = next.shift() as string
        link.relay = undefined
        link.hedge = undefined
        state.fallback = name
        state.replayed = false
        inv.onFallback?.(name)
        // A fallback is its own endpoint: no hedging there, and its answer is what the caller gets,
        // never stored under the primary's cache key.
        inv.hedge = undefined
        inv.tap = undefined
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

/** The attempt that reaches its response headers first; when both fail, the first attempt's failure. */
async function firstAnswer (first: Relay, other: Relay): Promise<[Relay, Outcome]> {
  return await new Promise((resolve, reject) => {
    let failed = 0
    let firstFailure: Error | undefined
    for (const r of [first, other]) {
      r.head.then(o => { resolve([r, o]) }, (err: Error) => {
        if (r === first) firstFailure = err
        if (++failed === 2) reject(firstFailure ?? err)
      })
    }
  })
}

interface CallerLink {
  gone: boolean
  relay: Relay | undefined
  /** The second attempt of a hedged request, cancelled too when the caller leaves. */
  hedge?: Relay | undefined
}
