// The undici dispatch handler of one forwarded attempt: it decides at the response headers
// whether the answer is relayed to the caller or (a 401 that will be replayed) drained, streams
// the body into the caller's ServerResponse with backpressure, and ends a response whose upstream
// failed after it started (docs/http.md "Gateway listener": an answer that fails after its headers were sent).
import type { ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import { CallerGone, RoutegateError, UpstreamInvalidResponse, UpstreamTimeout, UpstreamUnavailable } from '../errors.js'
import { writeError } from './error-response.js'
import type { Invocation } from './forwarder.js'
import { base64Embeddings, EMBEDDINGS_ANSWER_LIMIT_BYTES } from './embeddings.js'
import { downstreamHeaders } from './headers.js'
import { completeEventsEnd, createSseScan, type SseScan } from './sse-events.js'
import { upstreamError as upstreamErrorOf } from './upstream-errors.js'
import { UsageTap } from './usage.js'

/**
 * How an attempt ended at its response headers: relayed to the caller, a 401 to replay, or an
 * answer the invocation diverts to a fallback endpoint (429/503 before any byte was relayed).
 */
export type Outcome = 'relayed' | 'replay' | 'divert'

/**
 * Sees a relayed answer as it passes (the response cache keeps whole 200 JSON answers): the
 * status and upstream headers, each body chunk as received, and how it ended.
 */
export interface AnswerTap {
  start: (status: number, headers: Record<string, string | string[] | undefined>) => void
  data: (chunk: Buffer) => void
  end: () => void
  /** The answer failed or was cut: whatever was seen is not whole. */
  error: () => void
}

/**
 * Two attempts of one hedged request: the first whose response headers arrive claims it; the
 * other is cancelled there and then (its pool connection freed).
 */
export class HedgeRace {
  readonly #relays: Relay[] = []
  winner: Relay | undefined
  add (relay: Relay): void { this.#relays.push(relay) }
  /** True for the first caller; cancels every other attempt. */
  claim (relay: Relay): boolean {
    if (this.winner !== undefined) return this.winner === relay
    this.winner = relay
    for (const r of this.#relays) if (r !== relay) r.cancel()
    return true
  }
}

/**
 * The longest event an event stream may hold back while it waits for the event's blank line: a
 * longer one fails the response (its bytes are never forwarded) rather than growing without bound.
 */
export const SSE_EVENT_LIMIT_BYTES = 1024 * 1024

type Mode = 'pending' | 'relay' | 'discard' | 'done'

const SSE = /^\s*text\/event-stream/i
const JSON_TYPE = /^\s*application\/(?:[A-Za-z0-9.+-]*\+)?json/i

/**
 * undici dispatch handler for one attempt: decides at the response headers whether to relay
 * (write them to the caller and stream the body with backpressure) or, for a 401 that will be
 * replayed, to drain the body quietly. `head` settles at that decision, or rejects with a
 * contract error when the attempt failed before any header reached the caller.
 */
export class Relay implements Dispatcher.DispatchHandler {
  status = 0
  readonly head: Promise<Outcome>
  #resolve!: (o: Outcome) => void
  #reject!: (e: RoutegateError) => void
  #mode: Mode = 'pending'
  #controller: Dispatcher.DispatchController | undefined
  #gone = false
  #waiting = false
  /** Set for an event stream: only whole events are forwarded (see sse-events.ts). */
  #sse: SseScan | undefined
  /** The bytes of an event stream's event not yet complete, held back from the caller. */
  #held: Buffer[] = []
  #heldBytes = 0
  /** Response head not yet written (see onResponseStart). */
  #head: string[] | undefined
  /** A JSON answer to a base64 embeddings request, read whole to be re-encoded before its head is written. */
  #collect: Buffer[] | undefined
  #collected = 0
  /** Reads token usage off a successful answer (OpenAI-compatible routes). */
  #usage: UsageTap | undefined
  readonly #inv: Invocation
  readonly #token: string
  readonly #replayOn401: () => boolean
  readonly #now: () => number
  /** How long the caller may leave the response unread (backpressure) before it is cut. */
  readonly #stallMs: number
  #stall: NodeJS.Timeout | undefined

  readonly #race: HedgeRace | undefined

  constructor (inv: Invocation, token: string, replayOn401: () => boolean, now: () => number, stallMs: number, race?: HedgeRace) {
    this.#race = race
    race?.add(this)
    this.#inv = inv
    this.#stallMs = stallMs
    this.#token = token
    this.#replayOn401 = replayOn401
    this.#now = now
    this.head = new Promise<Outcome>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  callerGone (): void {
    this.#gone = true
    this.#clearStall()
    this.#controller?.abort(new CallerGone('request cancelled: the caller went away'))
  }

  /** A hedge sibling won: this attempt is dropped, its request aborted. */
  cancel (): void {
    if (this.#mode !== 'pending') return
    this.#mode = 'done'
    this.#gone = true
    this.#reject(new CallerGone('hedged attempt cancelled: the other attempt answered first'))
    this.#controller?.abort(new CallerGone('hedged attempt cancelled'))
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#gone) controller.abort(new CallerGone('request cancelled: the caller went away'))
  }

  onResponseStart (controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.#mode !== 'pending') return
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      // 1xx never reach here (undici handles them); anything else is not HTTP we can pass on.
      controller.abort(new UpstreamInvalidResponse(`endpoint answered with status ${String(status).slice(0, 8)}`))
      return
    }
    if (this.#race !== undefined && !this.#race.claim(this)) return
    this.status = status
    this.#inv.state.headersAt = this.#now()
    if (status === 401 && this.#replayOn401()) {
      this.#mode = 'discard'
      this.#resolve('replay')
      return
    }
    if (this.#inv.divert?.(status) === true) {
      this.#mode = 'discard'
      this.#resolve('divert')
      return
    }
    this.#inv.tap?.start(status, headers)
    const out = downstreamHeaders(headers, this.#token, this.#inv.responseHeaders)
    this.#inv.state.tokenEchoes = out.tokenEchoes
    const type = headers['content-type']
    // A coded (compressed) stream cannot take a plain-text error event: it is only cut.
    const coded = headers['content-encoding'] !== undefined && String(headers['content-encoding']).toLowerCase() !== 'identity'
    const sse = typeof type === 'string' && SSE.test(type) && !coded
    if (sse) this.#sse = createSseScan()
    // An event stream must reach the caller event by event: tell a buffering proxy in front
    // (nginx) not to hold it back, unless the endpoint said otherwise.
    if (sse && headers['x-accel-buffering'] === undefined) out.headers.push('x-accel-buffering', 'no')
    const json = typeof type === 'string' && JSON_TYPE.test(type)
    if (this.#inv.openai === true && !coded && status < 300 && (sse || json)) this.#usage = new UsageTap(sse)
    if (this.#inv.embeddingsBase64 === true && !coded && status >= 200 && status < 300 && json) this.#collect = []
    // The head is written with the first body bytes (or at the end, or on the next turn at the
    // latest): an answer that turns out invalid within the same read can still become a proper
    // 502 instead of a cut connection.
    this.#head = out.headers
    // 204 and 304 carry no body: their head waits for the end, so bytes where none may be
    // (a body on a 304) still make a whole 502.
    if (status !== 204 && status !== 304 && this.#collect === undefined) setImmediate(this.#flushSoon)
    this.#mode = 'relay'
    this.#resolve('relayed')
  }

  /** Writes the pending head; false when Node refused it (then the upstream answer is invalid). */
  #writeHead (): boolean {
    const head = this.#head
    if (head === undefined) return true
    this.#head = undefined
    try {
      this.#inv.res.writeHead(this.status, head)
      return true
    } catch {
      // Node refused the head: nothing reached the caller, who gets a whole 502; the upstream
      // request is dropped (its later events find the relay done).
      const failure = new UpstreamInvalidResponse('endpoint answered with headers that cannot be passed on')
      this.#mode = 'done'
      this.#inv.state.failure = failure
      writeError(this.#inv.res, failure, this.#inv.requestId, this.#inv.shape)
      this.#controller?.abort(failure)
      return false
    }
  }

  readonly #flushSoon = (): void => {
    if (this.#head === undefined || this.#mode !== 'relay') return
    if (this.#writeHead() && !this.#inv.res.destroyed) this.#inv.res.flushHeaders()
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#collect !== undefined) {
      if (this.#mode === 'relay') this.#collectChunk(controller, chunk)
      return
    }
    if (this.#mode !== 'relay' || !this.#writeHead()) return
    this.#inv.tap?.data(chunk)
    this.#usage?.push(chunk)
    const out = this.#sse === undefined ? chunk : this.#wholeEvents(controller, chunk)
    if (out === undefined) return
    const { res, state } = this.#inv
    state.bytesOut += out.length
    if (!res.write(out)) {
      controller.pause()
      if (!this.#waiting) {
        this.#waiting = true
        res.once('drain', this.#onDrain)
        // A paused upstream body has no body timeout (undici stops its timer while paused): a
        // caller that never reads again would hold the pool connection and its slot forever.
        this.#stall = setTimeout(this.#onStall, this.#stallMs)
        this.#stall.unref()
      }
    }
  }

  /**
   * The complete events of an event stream so far: what is held back plus the chunk up to its
   * last event end, one buffer for one write. A chunk that ends on an event end (the usual case)
   * is passed as it is, without a copy; the rest waits for its blank line.
   */
  #wholeEvents (controller: Dispatcher.DispatchController, chunk: Buffer): Buffer | undefined {
    const end = completeEventsEnd(chunk, this.#sse as SseScan)
    const held = this.#held
    let out: Buffer | undefined
    if (end > 0) {
      out = held.length === 0 ? (end === chunk.length ? chunk : chunk.subarray(0, end)) : Buffer.concat([...held, chunk.subarray(0, end)])
      this.#held = []
      this.#heldBytes = 0
    }
    if (end < chunk.length) {
      this.#held.push(end === 0 ? chunk : chunk.subarray(end))
      this.#heldBytes += chunk.length - end
      if (this.#heldBytes > SSE_EVENT_LIMIT_BYTES) {
        // The events before it still reach the caller; the error event follows them.
        if (out !== undefined) {
          this.#inv.state.bytesOut += out.length
          this.#inv.res.write(out)
        }
        controller.abort(new UpstreamInvalidResponse(`endpoint sent an event longer than ${SSE_EVENT_LIMIT_BYTES} bytes`))
        return undefined
      }
    }
    return out
  }

  #collectChunk (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#usage?.push(chunk)
    this.#collected += chunk.length
    if (this.#collected > EMBEDDINGS_ANSWER_LIMIT_BYTES) {
      // Nothing has reached the caller: it gets a whole 502 (see onResponseError).
      this.#collect = []
      controller.abort(new UpstreamInvalidResponse(`embeddings answer is larger than ${EMBEDDINGS_ANSWER_LIMIT_BYTES} bytes and cannot be encoded as base64: ask with encoding_format "float"`))
      return
    }
    (this.#collect as Buffer[]).push(chunk)
  }

  /** The collected embeddings answer, its numbers encoded as base64 (or as it came when it has none). */
  #writeCollected (): void {
    const body = Buffer.concat(this.#collect as Buffer[], this.#collected)
    this.#collect = undefined
    const out = base64Embeddings(body) ?? body
    const head = this.#head as string[]
    for (let i = head.length - 2; i >= 0; i -= 2) {
      const name = (head[i] as string).toLowerCase()
      if (name === 'content-length' || name === 'transfer-encoding') head.splice(i, 2)
    }
    head.push('content-length', String(out.length))
    if (!this.#writeHead()) return
    this.#inv.state.bytesOut += out.length
    this.#inv.res.end(out)
  }

  /** The end of an event stream: a last event without its blank line passes as the endpoint sent it. */
  #releaseHeld (): void {
    if (this.#heldBytes === 0) return
    const rest = Buffer.concat(this.#held, this.#heldBytes)
    this.#held = []
    this.#heldBytes = 0
    this.#inv.state.bytesOut += rest.length
    this.#inv.res.write(rest)
  }

  readonly #onDrain = (): void => {
    this.#waiting = false
    this.#clearStall()
    this.#controller?.resume()
  }

  readonly #onStall = (): void => {
    this.#stall = undefined
    if (this.#mode !== 'relay' || this.#gone) return
    this.#mode = 'done'
    this.#gone = true
    this.#inv.state.abort = 'client_stalled'
    this.#inv.res.off('drain', this.#onDrain)
    this.#controller?.abort(new CallerGone('the caller stopped reading the response'))
    this.#inv.res.destroy()
  }

  #clearStall (): void {
    if (this.#stall === undefined) return
    clearTimeout(this.#stall)
    this.#stall = undefined
  }

  onResponseEnd (): void {
    this.#clearStall()
    const mode = this.#mode
    if (mode === 'relay' && this.#collect !== undefined) {
      this.#mode = 'done'
      if (this.#usage !== undefined) this.#inv.state.usage = this.#usage.usage()
      this.#writeCollected()
    } else if (mode === 'relay' && this.#writeHead()) {
      this.#mode = 'done'
      this.#inv.tap?.end()
      if (this.#usage !== undefined) this.#inv.state.usage = this.#usage.usage()
      this.#releaseHeld()
      this.#inv.res.end()
    } else if (mode !== 'relay') {
      this.#mode = 'done'
    }
  }

  onResponseError (_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.#clearStall()
    const mode = this.#mode
    this.#mode = 'done'
    if (mode === 'relay') this.#inv.tap?.error()
    if (mode === 'pending') {
      this.#reject(upstreamErrorOf(err))
      return
    }
    // A drained 401 that failed changes nothing: the replay goes on.
    if (mode !== 'relay' || this.#gone) return
    const mapped = upstreamErrorOf(err)
    if (mapped instanceof CallerGone) return
    // After the headers the contract knows one outcome: 502, the response aborted.
    const failure = mapped instanceof UpstreamUnavailable ? mapped : new UpstreamUnavailable(mapped.message, { cause: mapped.cause ?? err })
    this.#inv.state.failure = failure
    if (this.#head !== undefined) {
      // Nothing reached the caller yet: it gets a whole 502 rather than a cut connection.
      this.#head = undefined
      writeError(this.#inv.res, failure, this.#inv.requestId, this.#inv.shape)
      return
    }
    this.#inv.state.abort = mapped instanceof UpstreamTimeout ? 'idle_timeout' : 'upstream'
    // An event not yet complete is withheld: the caller's last event stays whole.
    this.#held = []
    this.#heldBytes = 0
    abortResponse(this.#inv.res, this.#sse !== undefined, failure)
  }
}

/**
 * Ends a started response as failed: never a clean end. An event stream (which the relay has
 * cut at an event's end) first gets one last error event, so SSE clients see why; then the
 * connection is cut.
 */
export function abortResponse (res: ServerResponse, sse: boolean, failure: RoutegateError): void {
  if (!sse || !res.writable) {
    res.destroy()
    return
  }
  const event = `data: ${JSON.stringify({ error: { message: failure.message, type: 'api_error', code: failure.code } })}\n\n`
  res.write(event, () => res.destroy())
  // Should the write never flush (the caller stopped reading), do not wait for it.
  setTimeout(() => res.destroy(), 1000).unref()
}
