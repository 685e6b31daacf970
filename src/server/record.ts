// The one place where a finished (or aborted) exchange becomes metrics and one access-log line.
// The access line is built only from fields known to be safe (configured names, validated ids,
// numbers, codes, an IP-shaped address, an error's code and cleaned message), so it goes to a
// logger without the per-line redaction pass every other log line gets.
import { RoutegateError } from '../errors.js'
import { codeLabel, type AbortCause, type Metrics } from '../metrics/index.js'
import { clientAddress } from '../proxy/headers.js'
import { describeCause } from '../proxy/upstream-errors.js'
import type { Exchange } from './exchange.js'
import type { AccessLog } from './logger.js'

export interface RecorderDeps {
  metrics: Pick<Metrics, 'endpointSeries' | 'callerSeries'>
  /** A logger without redaction, writing to the same destination as the main one. */
  accessLog: AccessLog
  trustProxy: boolean
}

/** The status an exchange is counted under: the caller's view, or the contract's for failures. */
export function finalStatus (ex: Pick<Exchange, 'clientError' | 'forward' | 'res'>): number {
  if (ex.clientError !== undefined) return ex.clientError.status
  // A response that broke off after its headers is the upstream's failure, not the caller's.
  if (ex.forward.failure !== undefined) return ex.forward.failure.statusCode
  // A response that never finished means the caller went away (nginx's 499).
  return ex.res.writableFinished ? ex.res.statusCode : 499
}

/**
 * The access line's `limit`: how the limits admitted the request, `limited` when one refused it
 * (a 429, which never reached the admitted step), or undefined when no limit applies.
 */
export function limitOf (admitted: Exchange['limit'], errorCode: string | undefined): string | undefined {
  return admitted ?? (errorCode === 'REQUEST_LIMIT_EXCEEDED' ? 'limited' : undefined)
}

/** Why a response that had started did not finish, or undefined when it finished (or never started). */
export function abortCause (ex: Pick<Exchange, 'forward' | 'res' | 'cut'>): AbortCause | undefined {
  if (ex.forward.abort !== undefined) return ex.forward.abort
  if (!ex.res.headersSent || ex.res.writableFinished) return undefined
  return ex.cut ? 'shutdown' : 'client'
}

export function createRecorder (deps: RecorderDeps): (ex: Exchange) => void {
  return function record (ex) {
    const status = finalStatus(ex)
    const end = performance.now()
    const series = ex.series ?? deps.metrics.endpointSeries(ex.endpoint)
    const f = ex.forward
    const code = codeLabel(status)
    series.requests(code).inc()
    const caller = deps.metrics.callerSeries(ex.caller)
    caller.requests(code).inc()
    series.duration.observe((end - ex.start) / 1000)
    let upstreamMs: number | undefined
    let overheadMs: number | undefined
    if (f.headersAt > 0) {
      // Upstream time is the answering attempt's dispatch → headers; everything before that
      // (admission, a token fetch, a refused first attempt) is the gateway's overhead.
      upstreamMs = f.headersAt - f.dispatchedAt
      overheadMs = f.dispatchedAt - ex.start
      series.upstream.observe(upstreamMs / 1000)
      series.overhead.observe(overheadMs / 1000)
    }
    if (ex.inflight) series.inflight.dec()
    if (f.tokenEchoes > 0) series.tokenEchoes.inc(f.tokenEchoes)
    const aborted = abortCause(ex)
    if (aborted !== undefined) series.aborted(aborted).inc()
    const usage = f.usage
    if (usage !== undefined) {
      caller.tokens(ex.endpoint, 'prompt').inc(usage.promptTokens)
      caller.tokens(ex.endpoint, 'completion').inc(usage.completionTokens)
    }
    const failure = f.failure ?? ex.error
    const errorCode = ex.clientError?.code ?? (failure instanceof RoutegateError ? failure.code : failure === undefined ? undefined : 'INTERNAL_ERROR')
    // The usage record, schema version 1 (docs/operations.md "Access log"): fields are added, never renamed.
    const line: Record<string, unknown> = {
      v: 1,
      requestId: ex.id,
      traceId: ex.trace.traceId,
      method: ex.req.method,
      endpoint: ex.endpoint,
      caller: ex.caller,
      via: ex.via,
      keyIndex: ex.keyIndex,
      client: clientAddress(ex.req.headers, ex.req.socket?.remoteAddress, deps.trustProxy),
      status,
      durationMs: round(end - ex.start),
      upstreamMs: upstreamMs === undefined ? undefined : round(upstreamMs),
      overheadMs: overheadMs === undefined ? undefined : round(overheadMs),
      bytesIn: f.bytesIn(),
      bytesOut: f.bytesOut,
      error_code: errorCode,
      route: ex.route,
      aborted,
      promptTokens: usage?.promptTokens,
      completionTokens: usage?.completionTokens,
      replayed: f.replayed || undefined,
      limit: limitOf(ex.limit, errorCode),
      cache: f.cache,
      fallback: f.fallback,
      hedge: f.hedge,
      tokenEchoes: f.tokenEchoes > 0 ? f.tokenEchoes : undefined
    }
    if (status >= 500) {
      // Expected failures are logged by code and message only: no stack, no raw upstream bytes.
      const cause = describeCause(failure)
      if (cause !== undefined) line.cause = cause
      deps.accessLog.warn(line, 'request completed')
    } else {
      deps.accessLog.info(line, 'request completed')
    }
  }
}

function round (ms: number): number {
  return Math.round(ms * 1000) / 1000
}
