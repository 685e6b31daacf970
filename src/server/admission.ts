// Admission: the small steps a request passes before anything goes upstream, in order. Each
// step is a plain function of its inputs that returns what the next needs or throws the
// contract error. None of them knows fastify. They are composed in three places, each once per
// request, and a new step goes into the one whose inputs it needs:
// - the door (`admitRequest`, below): every request on every route, fastify's included, before
//   any handler or router sees it; gateway.ts runs it when it opens the exchange;
// - the caller (handlers.ts `admitCaller`): who is calling, on every handled route;
// - the target (handlers.ts, per route): the endpoint, the caller's right to it, the rate and
//   token limits (`checkLimits`: the caller's and the endpoint's decided together, in one store
//   round trip), its slot and body size.
import type { IncomingMessage } from 'node:http'
import { authorize } from '../callers/authorize.js'
import type { AuthRequest, AuthResult, Caller } from '../callers/identity.js'
import type { EndpointConfig } from '../config/load.js'
import { isName } from '../config/names.js'
import {
  BadRequest, EndpointNotFound, HeadersTooLarge, PermissionDenied, RequestLimitExceeded, ServiceUnavailable, Unauthenticated
} from '../errors.js'
import type { ConcurrencyLimiter, Release } from '../limits/concurrency.js'
import type { AdmittedAs, Governor, LimitRequest, Reservation } from '../limits/governor.js'
import type { ForwardState } from '../proxy/forwarder.js'

const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

/**
 * RFC 9112 §3.2 and §6.1 checks Node leaves to the application: at most `maxHeaderCount` fields
 * (Node 20 keeps only maxHeadersCount of them), exactly one sane Host from HTTP/1.1 on, and no
 * transfer coding but chunked.
 */
export function checkProtocol (req: IncomingMessage, maxHeaderCount: number): void {
  const raw = req.rawHeaders
  if (raw.length / 2 > maxHeaderCount) throw new HeadersTooLarge(`more than ${maxHeaderCount} header fields`)
  let hosts = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++
  }
  const required = req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1)
  if (hosts > 1 || (hosts === 0 && required) || (hosts === 1 && !HOST.test(req.headers.host ?? ''))) {
    throw new BadRequest('a request needs exactly one valid Host header')
  }
  const te = req.headers['transfer-encoding']
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') throw new BadRequest('only Transfer-Encoding: chunked is supported')
}

/** Sheds load (503 before any work: no JWT check, no token, no upstream) while the process lags. */
export function checkLoad (overloaded: boolean): void {
  if (overloaded) throw new ServiceUnavailable('gateway overloaded, try again shortly', { headers: { 'retry-after': '1' } })
}

export interface DoorDeps {
  overloaded: () => boolean
  maxHeaderCount: number
}

/** The door: load, then the protocol. Runs once per request, whichever route it takes. */
export function admitRequest (deps: DoorDeps, req: IncomingMessage): void {
  checkLoad(deps.overloaded())
  checkProtocol(req, deps.maxHeaderCount)
}

export type Admitted = AuthResult & { ok: true }

/** Who is calling: 401 for missing or unknown credentials, 503 when they cannot be verified now. */
export function identified (auth: AuthResult): Admitted {
  if (auth.ok) return auth
  if (auth.unavailable === true) {
    throw new ServiceUnavailable(`cannot verify caller credentials: ${auth.reason}`, { headers: { 'retry-after': '5' } })
  }
  throw new Unauthenticated(auth.reason, { headers: { 'www-authenticate': 'Bearer' } })
}

/** Authenticates with `authenticate` (keys, JWT, mTLS) and applies `identified`. */
export async function identify (authenticate: (req: AuthRequest) => Promise<AuthResult>, req: IncomingMessage): Promise<Admitted> {
  return identified(await authenticate({ headers: req.headers, socket: req.socket }))
}

/**
 * The caller's and the endpoint's rate and token limits, decided together (in the shared store
 * when there is one): 429 with Retry-After and x-ratelimit-* when one refuses. Returns how the
 * request was admitted (for the access line) and the token reservation to settle when the
 * answer ends, if token budgets apply.
 */
export async function checkLimits (governor: Governor, request: LimitRequest): Promise<{ as: AdmittedAs, reservation: Reservation | undefined }> {
  const verdict = await governor.admit(request)
  if (!verdict.ok) throw new RequestLimitExceeded(verdict.refusal.message, { headers: verdict.refusal.headers })
  return { as: verdict.as, reservation: verdict.reservation }
}

/**
 * What a finished request used of its reservation: the answer's usage; nothing (a refund) when
 * the upstream failed before any byte reached the caller or answered an error status (`status`,
 * what the caller got); undefined (keep it) otherwise.
 */
export function usedTokens (f: Pick<ForwardState, 'usage' | 'headersAt' | 'bytesOut' | 'failure'>, status: number): number | undefined {
  if (f.usage !== undefined) return f.usage.promptTokens + f.usage.completionTokens
  // An error answer (the endpoint's 400 for a bad max_tokens, its 429 or 503) generated nothing.
  if (f.headersAt === 0 || (f.failure !== undefined && f.bytesOut === 0) || status >= 400) return 0
  return undefined
}

/** The configured endpoint the request names; 404 (echoing the name only when it is plain). */
export function routeTo (endpoint: EndpointConfig | undefined, name: string): EndpointConfig {
  if (endpoint !== undefined) return endpoint
  throw new EndpointNotFound(isName(name) ? `no endpoint named '${name}'` : 'no such endpoint')
}

/** The caller's allow-list and actions: 403 when this endpoint (or its action) is not among them. */
export function checkAllowed (caller: Caller, endpoint: EndpointConfig): void {
  const allowed = authorize(caller, endpoint.name, endpoint.action)
  if (!allowed.ok) throw new PermissionDenied(allowed.message)
}

/** A slot among the caller's concurrent requests (429 when all are taken); undefined when unlimited. */
export function takeSlot (concurrency: ConcurrencyLimiter, caller: Caller): Release | undefined {
  const max = caller.limits?.maxConcurrent
  if (max === undefined) return undefined
  const release = concurrency.acquire(caller.name, max)
  if (release === undefined) {
    throw new RequestLimitExceeded(`caller '${caller.name}' has ${max} requests in progress already`, { headers: { 'retry-after': '1' } })
  }
  return release
}
