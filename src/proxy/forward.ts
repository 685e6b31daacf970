// Sends one invocation upstream through the endpoint's pool, and maps transport failures to
// the contract's gateway errors in one place.
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import type { Dispatcher, Pool } from 'undici'
import { PayloadTooLarge, UpstreamTimeout, UpstreamUnavailable } from '../errors.js'

export interface ForwardRequest {
  path: string
  headers: Record<string, string | string[]>
  body: Buffer | Readable | null
  headersTimeoutMs: number
  idleTimeoutMs: number
  signal: AbortSignal
}

export async function dispatch (pool: Pool, req: ForwardRequest): Promise<Dispatcher.ResponseData> {
  try {
    return await pool.request({
      method: 'POST',
      path: req.path,
      headers: req.headers,
      body: req.body,
      headersTimeout: req.headersTimeoutMs,
      // An idle timeout between chunks, not a total cap: a live stream may run for minutes.
      bodyTimeout: req.idleTimeoutMs,
      signal: req.signal
    })
  } catch (err) {
    throw upstreamError(err)
  }
}

/** The one place where a transport failure becomes a contract error; `cause` is kept for logs. */
export function upstreamError (err: unknown): Error {
  const e = err as { code?: string, name?: string, cause?: unknown }
  // A body that broke the size limit surfaces as the request's own error.
  if (e.code === 'PAYLOAD_TOO_LARGE') return err as Error
  if (e.cause !== undefined && (e.cause as { code?: string }).code === 'PAYLOAD_TOO_LARGE') return e.cause as Error
  switch (e.code ?? e.name) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new UpstreamTimeout('endpoint did not answer in time', { cause: err })
    case 'UND_ERR_ABORTED':
    case 'AbortError':
      return Object.assign(new UpstreamUnavailable('request cancelled: the caller went away', { cause: err }), { callerGone: true })
    // Connect-phase failures: the request never left, so it may be retried (connectFailure).
    case 'UND_ERR_CONNECT_TIMEOUT':
      return Object.assign(new UpstreamUnavailable('connecting to the endpoint timed out', { cause: err }), { connectFailure: true })
    case 'ECONNREFUSED':
      return Object.assign(new UpstreamUnavailable('endpoint refused the connection', { cause: err }), { connectFailure: true })
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return Object.assign(new UpstreamUnavailable('endpoint host could not be resolved', { cause: err }), { connectFailure: true })
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return new UpstreamUnavailable('connection to the endpoint was reset', { cause: err })
    default:
      return new UpstreamUnavailable('connection to the endpoint failed', { cause: err })
  }
}

/**
 * Passes a request body through while counting it, failing with PAYLOAD_TOO_LARGE past `limit`
 * so a chunked upload over the limit is cut off before the upstream ever sees all of it.
 */
export class LimitedBody extends Transform {
  bytes = 0
  readonly #limit: number

  constructor (limit: number) {
    super()
    this.#limit = limit
  }

  override _transform (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length
    if (this.bytes > this.#limit) {
      cb(new PayloadTooLarge(`request body is larger than ${this.#limit} bytes`))
      return
    }
    cb(null, chunk)
  }
}
