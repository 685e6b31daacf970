// Injectable failures: token-endpoint errors and outages, data-plane errors, hangs, resets and cold starts.
import { performance } from 'node:perf_hooks'

export interface TokenFault {
  /** Answer with this status (default derived from `error`: 401 for invalid_client, 503 for temporarily_unavailable, else 400). */
  status?: number
  /** OAuth `error` code, e.g. 'invalid_client', 'temporarily_unavailable' (default derived from `status`). Without both, only latency/down apply. */
  error?: string
  /** `Retry-After` header value: seconds or an HTTP-date. */
  retryAfter?: string
  /** Delay before answering (or before serving normally when no status/error is given). */
  latencyMs?: number
  /** Destroy the socket without answering. */
  down?: boolean
  /** Apply to the next N requests only. Default: until cleared. */
  times?: number
}

export interface DataPlaneFault {
  /** Endpoint name; default every endpoint. An endpoint's own fault wins over the global one. */
  endpoint?: string
  /** Answer with this status instead of serving (default 500 when only `body` is given). */
  status?: number
  /** Response body; a string is sent as text/plain, anything else as JSON. Default: a Databricks error for `status`. */
  body?: unknown
  /**
   * Form of the default error body: `'string'` → `{"error_code":"BAD_REQUEST","message":…}`;
   * `'numeric'` → `{"error_code":400,"message":…}` with an `X-Databricks-Reason-Phrase` header.
   * Default: the endpoint's `errorForm` (itself default `'string'`).
   */
  errorForm?: 'string' | 'numeric'
  /** `error_code` of a string-form default body. Default: the code conventionally paired with `status`. */
  errorCode?: string
  /** `message` of the default body. Default 'Injected fault'. */
  message?: string
  /** `X-Databricks-Reason-Phrase` header value; sent with any form when given. Default for the numeric form: `message`. */
  reasonPhrase?: string
  retryAfter?: string
  /** Delay before the response headers. */
  latencyMs?: number
  /**
   * A latency distribution: each request waits one of these delays before its headers, picked
   * with probability weight ÷ total weight (e.g. `[{ ms: 5, weight: 99 }, { ms: 100, weight: 1 }]`
   * is a p50 of 5 ms and a p99 of 100 ms). Added to `latencyMs`. Best used without `times`.
   */
  delays?: Array<{ ms: number, weight: number }>
  /** Never answer; the socket is released when the client leaves or the emulator closes. */
  hang?: boolean
  /** Destroy the socket (TCP reset) as soon as the request arrives. */
  reset?: boolean
  /**
   * Serve normally, then reset the connection after this many SSE data events have been sent
   * (0: right after the headers). A JSON answer is cut after its headers and half its body.
   */
  resetAfterChunks?: number
  /**
   * With `resetAfterChunks: N` on a stream: after the N whole events, send the next one only up
   * to the middle of its `data:` line, then reset (a stream cut mid-event).
   */
  cutMidEvent?: boolean
  times?: number
}

export interface ColdStartFault {
  /** Endpoint name; default every endpoint (each pays its own cold start). */
  endpoint?: string
  /** How long the first request after arming waits; requests arriving meanwhile wait for the rest of it. */
  delayMs: number
  /** Answer the first request with this status after the delay instead of serving it. */
  status?: 503 | 504
}

/** The admin API body: any subset, applied in order token, dataPlane, coldStart. */
export interface FaultSpec {
  token?: TokenFault
  dataPlane?: DataPlaneFault | DataPlaneFault[]
  coldStart?: ColdStartFault | ColdStartFault[]
}

interface ColdStartRule {
  fault: ColdStartFault
  /** Endpoint name → monotonic time its warm-up ends. */
  readyAt: Map<string, number>
}

// Rules keyed by endpoint name, '' standing for "every endpoint".
const ALL = ''

export class FaultController {
  readonly #random: () => number
  #token: TokenFault | undefined
  #dataPlane = new Map<string, DataPlaneFault>()
  #coldStart = new Map<string, ColdStartRule>()

  /** `random`: uniform in [0, 1), for latency distributions (default Math.random). */
  constructor (random: () => number = Math.random) {
    this.#random = random
  }

  /** The delay a request to which `fault` applies waits before its headers (latencyMs plus a pick from delays). */
  delayOf (fault: DataPlaneFault): number {
    let ms = fault.latencyMs ?? 0
    const delays = fault.delays
    if (delays !== undefined && delays.length > 0) {
      const total = delays.reduce((n, d) => n + d.weight, 0)
      let r = this.#random() * total
      let pick = delays[delays.length - 1] as { ms: number }
      for (const d of delays) {
        if (r < d.weight) { pick = d; break }
        r -= d.weight
      }
      ms += pick.ms
    }
    return ms
  }

  /** Replaces the token-endpoint fault. */
  token (fault: TokenFault): void {
    this.#token = checkToken(fault)
  }

  /** Sets the data-plane fault for `fault.endpoint` (or all), replacing the previous one for that target. */
  dataPlane (fault: DataPlaneFault): void {
    const f = checkDataPlane(fault)
    this.#dataPlane.set(f.endpoint ?? ALL, f)
  }

  /** Arms a cold start for `fault.endpoint` (or each endpoint): the next request pays `delayMs`. */
  coldStart (fault: ColdStartFault): void {
    const f = checkColdStart(fault)
    this.#coldStart.set(f.endpoint ?? ALL, { fault: f, readyAt: new Map() })
  }

  clear (): void {
    this.#token = undefined
    this.#dataPlane.clear()
    this.#coldStart.clear()
  }

  /** Applies an admin-API body; throws TypeError on a bad shape before changing anything. */
  apply (spec: FaultSpec): void {
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new TypeError('faults must be an object')
    const unknown = Object.keys(spec).filter(k => !['token', 'dataPlane', 'coldStart'].includes(k))
    if (unknown.length > 0) throw new TypeError(`unknown fault kind ${unknown.join(', ')}`)
    const token = spec.token === undefined ? undefined : checkToken(spec.token)
    const dataPlane = listOf(spec.dataPlane).map(checkDataPlane)
    const coldStart = listOf(spec.coldStart).map(checkColdStart)
    if (token !== undefined) this.token(token)
    for (const f of dataPlane) this.dataPlane(f)
    for (const f of coldStart) this.coldStart(f)
  }

  /** The active faults, in the admin-API shape. */
  list (): FaultSpec {
    return structuredClone({
      ...(this.#token === undefined ? {} : { token: this.#token }),
      dataPlane: [...this.#dataPlane.values()],
      coldStart: [...this.#coldStart.values()].map(r => r.fault)
    })
  }

  /** The token fault for this request, consuming one of its `times`. */
  takeToken (): TokenFault | undefined {
    const f = this.#token
    if (f === undefined) return undefined
    if (f.times !== undefined && --f.times <= 0) this.#token = undefined
    return f
  }

  /** The data-plane fault for a request to `endpoint`, consuming one of its `times`. */
  takeDataPlane (endpoint: string): DataPlaneFault | undefined {
    const key = this.#dataPlane.has(endpoint) ? endpoint : ALL
    const f = this.#dataPlane.get(key)
    if (f === undefined) return undefined
    if (f.times !== undefined && --f.times <= 0) this.#dataPlane.delete(key)
    return f
  }

  /**
   * How long a request to `endpoint` must wait for a cold start, and the status to answer instead of
   * serving (first request only). Undefined once the endpoint is warm.
   */
  takeColdStart (endpoint: string): { delayMs: number, status?: 503 | 504 } | undefined {
    const rule = this.#coldStart.get(endpoint) ?? this.#coldStart.get(ALL)
    if (rule === undefined) return undefined
    const now = performance.now()
    const readyAt = rule.readyAt.get(endpoint)
    if (readyAt !== undefined) return readyAt > now ? { delayMs: readyAt - now } : undefined
    rule.readyAt.set(endpoint, now + rule.fault.delayMs)
    return rule.fault.status === undefined ? { delayMs: rule.fault.delayMs } : { delayMs: rule.fault.delayMs, status: rule.fault.status }
  }
}

function listOf<T> (value: T | T[] | undefined): T[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}

function checkToken (f: TokenFault): TokenFault {
  object(f, 'token fault')
  optional(f.status, 'status', isStatus)
  optional(f.error, 'error', v => typeof v === 'string' && v !== '')
  optional(f.retryAfter, 'retryAfter', v => typeof v === 'string')
  optional(f.latencyMs, 'latencyMs', isDelay)
  optional(f.down, 'down', v => typeof v === 'boolean')
  optional(f.times, 'times', v => Number.isSafeInteger(v) && (v as number) > 0)
  return { ...f }
}

function checkDataPlane (f: DataPlaneFault): DataPlaneFault {
  object(f, 'dataPlane fault')
  optional(f.endpoint, 'endpoint', v => typeof v === 'string' && v !== '')
  optional(f.status, 'status', isStatus)
  optional(f.retryAfter, 'retryAfter', v => typeof v === 'string')
  optional(f.latencyMs, 'latencyMs', isDelay)
  optional(f.delays, 'delays', v => Array.isArray(v) && v.length > 0 && v.length <= 100 &&
    v.every(d => typeof d === 'object' && d !== null && isDelay((d as { ms: unknown }).ms) && isDelay((d as { weight: unknown }).weight)) &&
    v.some(d => (d as { weight: number }).weight > 0))
  optional(f.hang, 'hang', v => typeof v === 'boolean')
  optional(f.reset, 'reset', v => typeof v === 'boolean')
  optional(f.resetAfterChunks, 'resetAfterChunks', v => Number.isSafeInteger(v) && (v as number) >= 0)
  optional(f.cutMidEvent, 'cutMidEvent', v => typeof v === 'boolean')
  if (f.cutMidEvent === true && f.resetAfterChunks === undefined) throw new TypeError('fault field cutMidEvent needs resetAfterChunks')
  optional(f.errorForm, 'errorForm', v => v === 'string' || v === 'numeric')
  optional(f.errorCode, 'errorCode', v => typeof v === 'string' && v !== '')
  optional(f.message, 'message', v => typeof v === 'string')
  // A header value: visible ASCII and spaces only, or node refuses to send it.
  optional(f.reasonPhrase, 'reasonPhrase', v => typeof v === 'string' && /^[\x20-\x7e]*$/.test(v))
  optional(f.times, 'times', v => Number.isSafeInteger(v) && (v as number) > 0)
  return f.delays === undefined ? { ...f } : { ...f, delays: f.delays.map(d => ({ ms: d.ms, weight: d.weight })) }
}

function checkColdStart (f: ColdStartFault): ColdStartFault {
  object(f, 'coldStart fault')
  optional(f.endpoint, 'endpoint', v => typeof v === 'string' && v !== '')
  if (!isDelay(f.delayMs)) throw new TypeError('coldStart fault: delayMs must be a non-negative number')
  optional(f.status, 'status', v => v === 503 || v === 504)
  return { ...f }
}

function object (f: unknown, what: string): void {
  if (typeof f !== 'object' || f === null || Array.isArray(f)) throw new TypeError(`${what} must be an object`)
}

function optional (value: unknown, name: string, ok: (v: unknown) => boolean): void {
  if (value !== undefined && !ok(value)) throw new TypeError(`fault field ${name} is invalid: ${JSON.stringify(value)}`)
}

function isStatus (v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 200 && (v as number) <= 599
}

function isDelay (v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0
}
