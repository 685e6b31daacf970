// W3C Trace Context (traceparent/tracestate): continue the caller's trace upstream, as a new hop
// (a fresh span id) or untouched, and expose the trace id for log lines.
import { randomBytes } from 'node:crypto'

export type TraceMode = 'hop' | 'passthrough'

export interface TraceContext {
  traceId: string
  /** The traceparent to send upstream, or undefined to send none. */
  upstream: string | undefined
  /** tracestate to forward unchanged, if valid. */
  tracestate: string | undefined
}

// version 00: 2 hex version, 32 hex trace id, 16 hex parent id, 2 hex flags (all-zero ids invalid).
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/

/** Random hex ids from a pooled entropy buffer: one getrandom call per few hundred requests, not two each. */
export function createIdSource (poolBytes = 4096): (bytes: number) => string {
  let pool = randomBytes(poolBytes)
  let offset = 0
  return (bytes) => {
    // An id larger than the pool comes straight from the source (never cut short).
    if (bytes > poolBytes) return randomBytes(bytes).toString('hex')
    if (offset + bytes > pool.length) {
      pool = randomBytes(poolBytes)
      offset = 0
    }
    const id = pool.toString('hex', offset, offset + bytes)
    offset += bytes
    return id
  }
}

const defaultIds = (bytes: number): string => randomBytes(bytes).toString('hex')

export function traceContext (traceparent: unknown, tracestate: unknown, mode: TraceMode, ids: (bytes: number) => string = defaultIds): TraceContext {
  const m = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent.trim()) : null
  const valid = m !== null && m[1] !== 'ff' && !/^0+$/.test(m[2] ?? '') && !/^0+$/.test(m[3] ?? '') && (m[1] !== '00' || m[5] === undefined)
  const state = valid && typeof tracestate === 'string' && tracestate.length <= 512 ? tracestate : undefined
  if (valid && m !== null) {
    const [, , traceId = '', , flags = '00'] = m
    return { traceId, upstream: mode === 'passthrough' ? (traceparent as string).trim() : `00-${traceId}-${ids(8)}-${flags}`, tracestate: state }
  }
  // No usable context: start one so the upstream and our logs share an id (not sampled).
  const traceId = ids(16)
  return { traceId, upstream: mode === 'passthrough' ? undefined : `00-${traceId}-${ids(8)}-00`, tracestate: undefined }
}
