// Counts what reached the emulator, so tests can assert single-flight minting and clean upstream headers.
import { EventEmitter, once } from 'node:events'
import { performance } from 'node:perf_hooks'
import type { TokenRecord } from './token-store.js'
import { GRANTS } from './token-store.js'
import { scopeKeys } from './authorization-details.js'

export type ReceivedHeaders = Record<string, string | string[] | undefined>

/** Which URL an invocation came in on. */
export type InvocationRoute = 'data-plane' | 'workspace'

export interface InvocationSnapshot {
  endpoint: string
  via: InvocationRoute
  /** Headers exactly as received. */
  headers: ReceivedHeaders
  /** Raw request body ('' when the request never got that far). */
  body: string
  /** Scope keys of the presented token (`${endpointId}:${action}` or 'workspace'); [] when none was recognised. */
  tokenScope: string[]
}

/** How a stream ended: `[DONE]` sent, the client left first, an injected reset, or the emulator closing. */
export type StreamState = 'streaming' | 'completed' | 'cancelled' | 'reset' | 'closed'

/**
 * One SSE answer as the emulator sent it. Times are wall-clock epoch milliseconds with sub-millisecond
 * precision (`performance.timeOrigin + performance.now()`), comparable with `Date.now()` on the same machine.
 */
export interface StreamRecord {
  /** The `x-request-id` the emulator answered with. */
  requestId: string
  /** The `x-request-id` the client sent, if any. */
  clientRequestId?: string
  endpoint: string
  kind: 'chat' | 'completions'
  /** Data events the answer would have had, `[DONE]` not counted. */
  plannedChunks: number
  startedAt: number
  /** When each `data: {json}` event was written to the socket, in order. */
  chunkSentAt: number[]
  /** When `data: [DONE]` was written. */
  doneSentAt?: number
  state: StreamState
  endedAt?: number
}

export interface EmulatorStats {
  /** Every POST /oidc/v1/token, failures and faulted ones included. */
  tokenRequests: number
  mints: {
    total: number
    /** `${endpointId}:${action}` per authorization_details action, or 'workspace' for unscoped tokens. */
    byScope: Record<string, number>
    byGrant: { client_credentials: number, 'jwt-bearer': number }
  }
  /** Data-plane invocations per endpoint name, per status ('200', '401', … or 'reset' / 'hang' for faults). */
  invocations: Record<string, Record<string, number>>
  /** The same for the workspace-URL invocation paths. */
  workspaceInvocations: Record<string, Record<string, number>>
  lastInvocation?: InvocationSnapshot
  /** Headers of the last 200 invocation requests, oldest first. */
  invocationHeaders: ReceivedHeaders[]
  /** Requests under /api/2.0/. */
  controlPlaneRequests: number
  /** The last 100 SSE answers, oldest first. */
  streams: StreamRecord[]
}

const HEADER_RING = 200
const STREAM_RING = 100

/** Wall-clock milliseconds with sub-millisecond precision. */
export function preciseNow (): number {
  return performance.timeOrigin + performance.now()
}

export class StatsRecorder {
  #stats: EmulatorStats = empty()
  #latest: StreamRecord | undefined
  #events = new EventEmitter().setMaxListeners(0)

  tokenRequest (): void {
    this.#stats.tokenRequests++
  }

  controlPlaneRequest (): void {
    this.#stats.controlPlaneRequests++
  }

  mint (record: TokenRecord): void {
    const { mints } = this.#stats
    mints.total++
    mints.byGrant[record.grant === GRANTS.jwtBearer ? 'jwt-bearer' : 'client_credentials']++
    for (const key of scopeKeys(record.authorizationDetails)) mints.byScope[key] = (mints.byScope[key] ?? 0) + 1
  }

  /** Records an arriving invocation; the returned entry is filled in as the request progresses. */
  invocation (endpoint: string, via: InvocationRoute, headers: ReceivedHeaders): InvocationSnapshot {
    const entry: InvocationSnapshot = { endpoint, via, headers: { ...headers }, body: '', tokenScope: [] }
    const ring = this.#stats.invocationHeaders
    ring.push(entry.headers)
    if (ring.length > HEADER_RING) ring.shift()
    this.#stats.lastInvocation = entry
    return entry
  }

  outcome (endpoint: string, via: InvocationRoute, status: number | 'reset' | 'hang'): void {
    const table = via === 'data-plane' ? this.#stats.invocations : this.#stats.workspaceInvocations
    // Null-prototype rows: names come from the URL, and '__proto__' must stay a plain key.
    const row = table[endpoint] ??= Object.create(null) as Record<string, number>
    row[status] = (row[status] ?? 0) + 1
  }

  /** Starts the record of an SSE answer; the caller updates it through chunkSent/doneSent/endStream. */
  startStream (fields: Pick<StreamRecord, 'requestId' | 'clientRequestId' | 'endpoint' | 'kind' | 'plannedChunks'>): StreamRecord {
    const record: StreamRecord = { ...fields, startedAt: preciseNow(), chunkSentAt: [], state: 'streaming' }
    if (record.clientRequestId === undefined) delete record.clientRequestId
    const ring = this.#stats.streams
    ring.push(record)
    if (ring.length > STREAM_RING) ring.shift()
    this.#latest = record
    return record
  }

  /** Marks a stream ended, once: later calls (a close after a reset, say) change nothing. */
  endStream (record: StreamRecord, state: Exclude<StreamState, 'streaming'>): void {
    if (record.state !== 'streaming') return
    record.state = state
    record.endedAt = preciseNow()
    this.#events.emit('end', record)
  }

  streams (): StreamRecord[] {
    return structuredClone(this.#stats.streams)
  }

  stream (requestId: string): StreamRecord | undefined {
    const found = this.#stats.streams.find(s => s.requestId === requestId)
    return found === undefined ? undefined : structuredClone(found)
  }

  /** Resolves once the stream (default: the latest started) has ended; rejects after `timeoutMs`. */
  async streamEnded (requestId: string | undefined, timeoutMs = 5000): Promise<StreamRecord> {
    const record = requestId === undefined ? this.#latest : this.#stats.streams.find(s => s.requestId === requestId)
    if (record === undefined) throw new Error(requestId === undefined ? 'no stream has started' : `no stream ${requestId}`)
    if (record.state === 'streaming') {
      const ac = new AbortController()
      const timer = setTimeout(() => ac.abort(), timeoutMs)
      try {
        while (record.state === 'streaming') await once(this.#events, 'end', { signal: ac.signal })
      } catch {
        throw new Error(`stream ${record.requestId} did not end within ${timeoutMs} ms`)
      } finally {
        clearTimeout(timer)
      }
    }
    return structuredClone(record)
  }

  snapshot (): EmulatorStats {
    return structuredClone(this.#stats)
  }

  reset (): void {
    this.#stats = empty()
  }
}

function empty (): EmulatorStats {
  return {
    tokenRequests: 0,
    mints: { total: 0, byScope: Object.create(null) as Record<string, number>, byGrant: { client_credentials: 0, 'jwt-bearer': 0 } },
    invocations: Object.create(null) as Record<string, Record<string, number>>,
    workspaceInvocations: Object.create(null) as Record<string, Record<string, number>>,
    invocationHeaders: [],
    controlPlaneRequests: 0,
    streams: []
  }
}
