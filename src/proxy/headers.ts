// Pure header helpers: what goes upstream, what comes back, and which request ids are sane.
import type { IncomingHttpHeaders } from 'node:http'

// RFC 9110 §7.6.1 hop-by-hop fields, plus the caller's own credentials to the gateway, which
// must never reach Databricks, and host (the pool sets the upstream's own).
const DROP_UPSTREAM = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te',
  'trailer', 'transfer-encoding', 'upgrade', 'host', 'authorization', 'x-api-key', 'cookie',
  'x-request-id', 'expect', 'http2-settings', 'traceparent', 'tracestate'
])

const DROP_DOWNSTREAM = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te',
  'trailer', 'transfer-encoding', 'upgrade', 'set-cookie', 'x-request-id'
])

/** Fields named in Connection are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionListed (headers: IncomingHttpHeaders | Record<string, unknown>): Set<string> | undefined {
  const c = headers.connection
  if (typeof c !== 'string' || c === '') return undefined
  return new Set(c.split(',').map(s => s.trim().toLowerCase()).filter(s => s !== ''))
}

export interface TraceHeaders { upstream: string | undefined, tracestate: string | undefined }

/** Headers sent upstream: the caller's end-to-end headers, the scoped token, request id and trace context. */
export function upstreamHeaders (incoming: IncomingHttpHeaders, token: string, requestId: string, trace?: TraceHeaders): Record<string, string | string[]> {
  const listed = connectionListed(incoming)
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || DROP_UPSTREAM.has(name) || listed?.has(name) === true) continue
    out[name] = value
  }
  out.authorization = `Bearer ${token}`
  out['x-request-id'] = requestId
  if (trace?.upstream !== undefined) out.traceparent = trace.upstream
  if (trace?.tracestate !== undefined) out.tracestate = trace.tracestate
  return out
}

/** Headers passed back to the caller: the upstream's, less hop-by-hop ones. */
export function downstreamHeaders (incoming: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const listed = connectionListed(incoming)
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || DROP_DOWNSTREAM.has(name) || listed?.has(name) === true) continue
    out[name] = value
  }
  return out
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** A caller-supplied x-request-id is kept only if it is short and plain (no log injection). */
export function acceptableRequestId (value: unknown): value is string {
  return typeof value === 'string' && REQUEST_ID.test(value)
}
