// The caller's request body, in the form the forwarder sends it: small bodies of a declared
// length are read into one Buffer (so a request refused for its token can be sent again), larger
// and chunked ones stream through a counter that enforces the endpoint's limit.
import type { IncomingMessage } from 'node:http'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { BadRequest, PayloadTooLarge, RoutegateError } from '../errors.js'

export interface BodyPlan {
  /** What undici sends: a Buffer, a stream, or nothing. */
  body: Buffer | Readable | null
  /** Whether the same body can be sent again (a replay after 401, a connect retry). */
  replayable: boolean
  /** Body bytes received from the caller so far. */
  bytes: () => number
}

const NONE: BodyPlan = { body: null, replayable: true, bytes: () => 0 }

/** The declared length, or undefined when the body is chunked (or absent). Node's parser vetted the digits. */
export function declaredLength (req: IncomingMessage): number | undefined {
  const cl = req.headers['content-length']
  return cl === undefined ? undefined : Number(cl)
}

/**
 * Refuses a declared body over `limit` before a byte of it is read (or 100 Continue is sent).
 */
export function checkDeclaredLength (req: IncomingMessage, limit: number): void {
  const declared = declaredLength(req)
  if (declared !== undefined && declared > limit) throw new PayloadTooLarge(`request body is larger than ${limit} bytes`)
}

/**
 * Plans the body of `req`: read whole when its declared length is at most `replayBufferBytes`,
 * else streamed and counted against `limit`. Rejects with BAD_REQUEST when the caller's upload
 * breaks off, and PAYLOAD_TOO_LARGE past the limit.
 */
export async function planBody (req: IncomingMessage, limit: number, replayBufferBytes: number): Promise<BodyPlan> {
  const declared = declaredLength(req)
  checkDeclaredLength(req, limit)
  if (declared === 0) return NONE
  if (declared === undefined && req.headers['transfer-encoding'] === undefined) return NONE
  // A body that already failed (bad chunk, cut off), or a request whose connection is gone
  // (its events have fired: nothing would ever arrive), must not start an upstream request.
  if (req.destroyed) throw new BadRequest('request body is malformed or was cut off')
  if (declared !== undefined && declared <= replayBufferBytes) {
    const body = await readWhole(req, declared)
    return { body, replayable: true, bytes: () => body.length }
  }
  const counted = new LimitedBody(limit)
  req.on('error', (err) => counted.destroy(err))
  req.once('close', () => {
    if (!req.complete) counted.destroy(new BadRequest('request body ended early (the upload was aborted or truncated)'))
  })
  // An error may fire before undici takes the stream (while the token is fetched); undici then
  // fails the request with it, so it surfaces as this request's 400/413, not a crash.
  counted.on('error', () => {})
  req.pipe(counted)
  return { body: counted, replayable: false, bytes: () => counted.bytes }
}

/**
 * Reads the caller's body with `take` seeing each chunk (it returns an error to refuse the
 * body), then `done` turning the end into the result (or an error). An upload that breaks off
 * rejects with BAD_REQUEST; every listener is removed once it settles. With `yieldEach`, the
 * stream pauses after each chunk until the event loop's next turn: a socket with megabytes
 * waiting is otherwise drained (and each chunk worked on) in one go, and other requests wait.
 */
function readBody<T> (req: IncomingMessage, take: (chunk: Buffer) => RoutegateError | undefined, done: () => T | RoutegateError, yieldEach = false): Promise<T> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onAbort)
      req.off('close', onAbort)
    }
    const onData = (chunk: Buffer): void => {
      const refused = take(chunk)
      if (refused === undefined) {
        if (yieldEach) {
          req.pause()
          setImmediate(resume)
        }
        return
      }
      cleanup()
      req.resume()
      reject(refused)
    }
    const onEnd = (): void => {
      cleanup()
      const result = done()
      if (result instanceof RoutegateError) reject(result)
      else resolve(result)
    }
    const onAbort = (): void => {
      cleanup()
      reject(new BadRequest('request body ended early (the upload was aborted or truncated)'))
    }
    const resume = (): void => { if (!req.destroyed) req.resume() }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onAbort)
    req.on('close', onAbort)
  })
}

/**
 * Reads exactly `length` bytes into one Buffer; a short, long or aborted upload rejects.
 * `observe` sees each chunk as it arrives (within the bound).
 */
export async function readWhole (req: IncomingMessage, length: number, observe?: (chunk: Buffer) => void): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length)
  let offset = 0
  return await readBody<Buffer>(req, (chunk) => {
    if (offset + chunk.length > length) return new BadRequest(`request body is longer than its content-length (${length})`)
    chunk.copy(buf, offset)
    offset += chunk.length
    observe?.(chunk)
    return undefined
  }, () => offset === length ? buf : new BadRequest(`request body has ${offset} bytes, content-length says ${length}`), observe !== undefined)
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

/**
 * Reads a body the gateway must look into (an OpenAI-compatible request, routed by its `model`)
 * into one Buffer, declared or chunked, refusing it past `limit` bytes (PAYLOAD_TOO_LARGE: the
 * rest is not read, and the connection is not kept). `observe` sees each chunk as it arrives, so
 * the body can be scanned a chunk at a time rather than in one long pass at the end; the read
 * then yields to the event loop after each chunk.
 */
export async function readBounded (req: IncomingMessage, limit: number, observe?: (chunk: Buffer) => void): Promise<Buffer> {
  checkDeclaredLength(req, limit)
  const declared = declaredLength(req)
  if (declared === 0 || (declared === undefined && req.headers['transfer-encoding'] === undefined)) return Buffer.alloc(0)
  if (req.destroyed) throw new BadRequest('request body is malformed or was cut off')
  if (declared !== undefined) return await readWhole(req, declared, observe)
  const chunks: Buffer[] = []
  let size = 0
  return await readBody(req, (chunk) => {
    size += chunk.length
    if (size > limit) return new PayloadTooLarge(`request body is larger than ${limit} bytes`)
    chunks.push(chunk)
    observe?.(chunk)
    return undefined
  }, () => Buffer.concat(chunks, size), observe !== undefined)
}
