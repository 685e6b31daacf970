// One request/response exchange on the gateway listener: the per-request record that metrics
// and the access log are made from, opened when a request arrives and recorded exactly once
// when its response finishes or is aborted. Also which exchange each connection is serving, so
// a parse error can be charged to the request that caused it.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { AuthVia } from '../callers/identity.js'
import type { RoutegateError } from '../errors.js'
import type { AdmittedAs } from '../limits/governor.js'
import { UNKNOWN_ENDPOINT, type EndpointSeries } from '../metrics/index.js'
import { errorShapeFor, type ErrorShape } from '../proxy/error-response.js'
import { createForwardState, type ForwardState } from '../proxy/forwarder.js'
import { acceptableRequestId } from '../proxy/headers.js'
import { traceContext, type TraceContext, type TraceMode } from '../proxy/trace.js'

export interface Exchange {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly id: string
  /** performance.now() when the request was handed to the gateway. */
  readonly start: number
  readonly trace: TraceContext
  /** The shape of the gateway's own error answers to this request, decided once from its URL. */
  readonly shape: ErrorShape
  /** Metric label: a configured endpoint name, or `unknown`. */
  endpoint: string
  caller: string | undefined
  via: AuthVia | undefined
  keyIndex: number | undefined
  /** The gateway's own error answer, if it answered one. */
  error: RoutegateError | unknown
  /** Set when the connection's parser failed while this request was being read. */
  clientError: { status: number, code?: string } | undefined
  /** Counted in the in-flight gauge (admitted and forwarded). */
  inflight: boolean
  /** Which surface the request came in on, for the access line (absent: the invocation route). */
  route: string | undefined
  /** How the rate and token limits admitted it, when any apply (a refusal is its error code). */
  limit: AdmittedAs | undefined
  /** Cut at the end of a drain's grace period. */
  cut: boolean
  /** The endpoint series the request was counted in (kept across a reload). */
  series: EndpointSeries | undefined
  readonly forward: ForwardState
}

export interface ExchangeOptions {
  traceMode: TraceMode
  /** Random hex ids (pooled), for trace and span ids. */
  ids: (bytes: number) => string
  /** Called once per exchange when its response is finished or aborted. */
  record: (ex: Exchange) => void
}

/** The request id: the caller's x-request-id when short and plain, else a new UUID. */
export function requestIdOf (req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return acceptableRequestId(given) ? given : randomUUID()
}

export interface Exchanges {
  /** Opens the exchange for a request; its record is written when the response closes. */
  open: (req: IncomingMessage, res: ServerResponse, id: string) => Exchange
  /** The exchanges in progress on this connection (more than one when requests are pipelined). */
  on: (socket: Duplex) => readonly Exchange[]
  /** Exchanges in progress (streams included). */
  inflight: () => number
  /**
   * From now on every response closes its connection (`Connection: close`), those in progress
   * included when their headers are not out yet; `afterEach` runs when one of them ends.
   */
  drain: (afterEach: () => void) => void
  /** Resolves once no exchange is in progress. */
  idle: () => Promise<void>
  /** Marks every exchange in progress as cut by the shutdown (their connections are closed next). */
  cutAll: () => number
}

export function createExchanges (opts: ExchangeOptions): Exchanges {
  const bySocket = new WeakMap<Duplex, Set<Exchange>>()
  const inProgress = new Set<Exchange>()
  let draining: (() => void) | undefined
  let waiters: Array<() => void> = []
  return {
    open (req, res, id) {
      const ex: Exchange = {
        req,
        res,
        id,
        start: performance.now(),
        trace: traceContext(req.headers.traceparent, req.headers.tracestate, opts.traceMode, opts.ids),
        shape: errorShapeFor(req.url),
        endpoint: UNKNOWN_ENDPOINT,
        caller: undefined,
        via: undefined,
        keyIndex: undefined,
        error: undefined,
        clientError: undefined,
        inflight: false,
        route: undefined,
        limit: undefined,
        cut: false,
        series: undefined,
        forward: createForwardState()
      }
      const socket = req.socket
      let onSocket = bySocket.get(socket)
      if (onSocket === undefined) {
        onSocket = new Set()
        bySocket.set(socket, onSocket)
      }
      onSocket.add(ex)
      inProgress.add(ex)
      if (draining !== undefined) res.shouldKeepAlive = false
      res.once('close', () => {
        onSocket.delete(ex)
        inProgress.delete(ex)
        opts.record(ex)
        if (draining === undefined) return
        draining()
        if (inProgress.size === 0) {
          const w = waiters
          waiters = []
          for (const resolve of w) resolve()
        }
      })
      return ex
    },
    on: (socket) => [...(bySocket.get(socket) ?? [])],
    inflight: () => inProgress.size,
    drain (afterEach) {
      draining = afterEach
      for (const ex of inProgress) if (!ex.res.headersSent) ex.res.shouldKeepAlive = false
    },
    cutAll () {
      for (const ex of inProgress) ex.cut = true
      return inProgress.size
    },
    idle: async () => {
      if (inProgress.size === 0) return
      await new Promise<void>(resolve => waiters.push(resolve))
    }
  }
}
