// Pure header helpers: what goes upstream, what comes back, and which request ids are sane.
// Header lists are flat [name, value, name, value, …] arrays: what undici and writeHead take
// without building another object per request.
import type { IncomingHttpHeaders } from 'node:http'

// RFC 9110 §7.6.1 hop-by-hop fields, the caller's own credentials to the gateway (never sent to
// Databricks), host (the pool sets the upstream's own), and what the gateway sets itself.
const DROP_UPSTREAM = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te',
  'trailer', 'transfer-encoding', 'upgrade', 'host', 'authorization', 'x-api-key', 'cookie', 'set-cookie',
  'x-request-id', 'expect', 'http2-settings', 'traceparent', 'tracestate', 'x-forwarded-for'
])

// Set by a proxy in front: passed on only when server.trustProxy says there is one.
const FORWARDING = new Set(['forwarded', 'via', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix', 'x-real-ip'])

const DROP_DOWNSTREAM = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te',
  'trailer', 'transfer-encoding', 'upgrade', 'set-cookie', 'x-request-id'
])

/** Fields named in Connection are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionListed (headers: IncomingHttpHeaders): Set<string> | undefined {
  const c = headers.connection
  if (typeof c !== 'string' || c === '' || c === 'keep-alive' || c === 'close') return undefined
  return new Set(c.split(',').map(s => s.trim().toLowerCase()).filter(s => s !== ''))
}

export interface UpstreamContext {
  requestId: string
  /** traceparent and tracestate to send, if any. */
  traceparent?: string | undefined
  tracestate?: string | undefined
  /** The caller's address as the gateway's socket sees it. */
  peer: string | undefined
  /** Whether the caller reached the gateway over TLS. */
  tls: boolean
  /** server.trustProxy: keep the front proxy's forwarding headers and append to its X-Forwarded-For. */
  trustProxy: boolean
}

/** Index of the Authorization value in upstreamHeaders' result: set per attempt, per token. */
export const AUTHORIZATION_SLOT = 1

/**
 * Headers sent upstream, as a flat list whose first pair is `authorization` (its value filled in
 * per attempt at AUTHORIZATION_SLOT): the caller's end-to-end headers, less hop-by-hop ones,
 * credentials, and names with `_` (proxies that map `_` to `-` would let a caller smuggle a
 * header past a check); then request id, trace context and X-Forwarded-For/-Proto/-Host.
 */
export function upstreamHeaders (incoming: IncomingHttpHeaders, ctx: UpstreamContext): string[] {
  const listed = connectionListed(incoming)
  const out: string[] = ['authorization', '']
  for (const name in incoming) {
    const value = incoming[name]
    if (value === undefined || DROP_UPSTREAM.has(name) || name.includes('_') || listed?.has(name) === true) continue
    if (!ctx.trustProxy && FORWARDING.has(name)) continue
    if (typeof value === 'string') out.push(name, value)
    else for (const v of value) out.push(name, v)
  }
  out.push('x-request-id', ctx.requestId)
  if (ctx.traceparent !== undefined) out.push('traceparent', ctx.traceparent)
  if (ctx.tracestate !== undefined) out.push('tracestate', ctx.tracestate)
  const prior = ctx.trustProxy ? incoming['x-forwarded-for'] : undefined
  const peer = ctx.peer ?? 'unknown'
  out.push('x-forwarded-for', typeof prior === 'string' && prior !== '' ? `${prior}, ${peer}` : peer)
  if (!ctx.trustProxy || incoming['x-forwarded-proto'] === undefined) out.push('x-forwarded-proto', ctx.tls ? 'https' : 'http')
  if ((!ctx.trustProxy || incoming['x-forwarded-host'] === undefined) && incoming.host !== undefined) out.push('x-forwarded-host', incoming.host)
  return out
}

const IP = /^[0-9A-Fa-f:.]{2,45}$/

/**
 * The caller's address for logs: the peer, or with a trusted front proxy the last address it
 * appended to X-Forwarded-For (earlier entries are the caller's own words). Only IP-shaped values.
 */
export function clientAddress (incoming: IncomingHttpHeaders, peer: string | undefined, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const xff = incoming['x-forwarded-for']
    if (typeof xff === 'string') {
      const last = xff.slice(xff.lastIndexOf(',') + 1).trim()
      if (IP.test(last)) return last
    }
  }
  return peer !== undefined && IP.test(peer) ? peer : undefined
}

export interface DownstreamHeaders {
  /** Flat list for writeHead. */
  headers: string[]
  /** How many fields were dropped because their value held the scoped token. */
  tokenEchoes: number
}

/**
 * Headers passed back to the caller: the upstream's, less hop-by-hop ones, plus `extra`. A field
 * whose value contains the scoped token is dropped: an upstream that echoes Authorization would
 * hand the caller a Databricks token that bypasses every limit of the gateway.
 */
export function downstreamHeaders (incoming: IncomingHttpHeaders, token: string, extra: readonly string[]): DownstreamHeaders {
  const listed = connectionListed(incoming)
  const out: string[] = []
  let tokenEchoes = 0
  for (const name in incoming) {
    const value = incoming[name]
    if (value === undefined || DROP_DOWNSTREAM.has(name) || listed?.has(name) === true) continue
    if (typeof value === 'string') {
      if (token !== '' && value.includes(token)) tokenEchoes++
      else out.push(name, value)
    } else {
      for (const v of value) {
        if (token !== '' && v.includes(token)) tokenEchoes++
        else out.push(name, v)
      }
    }
  }
  for (const v of extra) out.push(v)
  return { headers: out, tokenEchoes }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** A caller-supplied x-request-id is kept only if it is short and plain (no log injection). */
export function acceptableRequestId (value: unknown): value is string {
  return typeof value === 'string' && REQUEST_ID.test(value)
}

/**
 * The headers every response to a caller carries, the gateway's own answers and the upstream's
 * alike: the request id (docs/http.md "Gateway listener"). The one place a response's x-request-id is set.
 */
export function answerHeaders (requestId: string): string[] {
  return ['x-request-id', requestId]
}
