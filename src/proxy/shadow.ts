// Sends a shadow copy of a request to another endpoint with that endpoint's own scoped token,
// reads its answer and drops it. Fire and forget: nothing it does reaches the caller's answer
// (docs/beyond.md "Shadow traffic").
import type { Dispatcher } from 'undici'
import type { TokenSource, RouteSource } from './forwarder.js'
import { AUTHORIZATION_SLOT } from './headers.js'
import type { Pools } from './pools.js'

export interface ShadowSenderDeps {
  pools: Pools
  tokens: Pick<TokenSource, 'fresh' | 'get'>
  routes: Pick<RouteSource, 'peek' | 'resolve'>
  /** Monotonic clock in ms. */
  now?: () => number
}

/** How a shadow ended: its status, and ms from dispatch to its answer's headers (to the failure when it got none). */
export type ShadowOutcome = { ok: true, status: number, ms: number } | { ok: false, ms: number }

export interface ShadowSender {
  /**
   * Sends `body` to endpoint `to` with `headers` (the primary's upstream headers; the
   * Authorization slot is replaced). Never rejects; `done` is called once, however it ends.
   */
  send: (to: string, headers: readonly string[], body: Buffer, done: (o: ShadowOutcome) => void) => void
}

export function createShadowSender (deps: ShadowSenderDeps): ShadowSender {
  const now = deps.now ?? (() => performance.now())
  async function go (to: string, headers: readonly string[], body: Buffer, done: (o: ShadowOutcome) => void): Promise<void> {
    const route = deps.routes.peek(to) ?? await deps.routes.resolve(to)
    const token = deps.tokens.fresh(route.token) ?? await deps.tokens.get(route.token)
    const own = [...headers]
    own[AUTHORIZATION_SLOT] = `Bearer ${token}`
    // Timed from dispatch, as the primary's upstream time is: the token look-up is not the endpoint's.
    const started = now()
    deps.pools.get(route.poolKey, route.origin, route).dispatch({
      method: 'POST',
      path: route.path,
      headers: own,
      body,
      headersTimeout: route.timeoutMs,
      bodyTimeout: route.idleTimeoutMs
    }, drain(started, now, done))
  }
  return {
    send (to, headers, body, done) {
      let once = false
      const finish = (o: ShadowOutcome): void => {
        if (once) return
        once = true
        done(o)
      }
      const started = now()
      go(to, headers, body, finish).catch(() => { finish({ ok: false, ms: now() - started }) })
    }
  }
}

/** A dispatch handler that reads the answer and keeps nothing of it. */
function drain (started: number, now: () => number, done: (o: ShadowOutcome) => void): Dispatcher.DispatchHandler {
  let status = 0
  let headersMs = 0
  return {
    // undici tells the new handler API by this method.
    onRequestStart () {},
    // Dispatch to response headers: what routegate_upstream_duration_seconds means for every endpoint.
    onResponseStart (_c, s) { status = s; headersMs = now() - started },
    onResponseData () {},
    onResponseEnd () { done({ ok: true, status, ms: headersMs }) },
    onResponseError () { done({ ok: false, ms: now() - started }) }
  }
}
