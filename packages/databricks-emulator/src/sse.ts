// Server-sent event answers written chunk by chunk, with each send time and how the stream ended recorded.
import type { OutgoingHttpHeaders } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { EmulatorContext } from './context.js'
import type { GenerationRequest } from './openai.js'
import type { EmulatorEndpointInfo, SseLineEnd } from './types.js'
import { chunksOf } from './openai.js'
import { preciseNow } from './stats.js'

// How long a cut waits after the last write, so what was sent reaches the client before the reset.
const CUT_GRACE_MS = 20

/** A stream's injected cut: after `afterChunks` whole events, and with `midEvent` half of the next one. */
export interface StreamCut {
  afterChunks: number
  midEvent: boolean
}

const LINE_ENDS: Record<SseLineEnd, string> = { lf: '\n', crlf: '\r\n', cr: '\r' }

/**
 * Streams `gen` as `data: {json}` events `endpoint.streamIntervalMs` apart, then `data: [DONE]`,
 * each line ended by the endpoint's `sseLineEnd`. The reply is hijacked so every event goes
 * straight to the socket as produced (no buffering) and a client leaving is seen at once. A
 * `cut` resets the connection (TCP reset) after that many data events instead of finishing,
 * with `midEvent` after the first half of the next event's `data:` line.
 */
export function streamAnswer (
  ctx: EmulatorContext,
  request: FastifyRequest,
  reply: FastifyReply,
  endpoint: EmulatorEndpointInfo,
  gen: GenerationRequest,
  cut: StreamCut | undefined
): FastifyReply {
  const eol = LINE_ENDS[endpoint.sseLineEnd]
  const { count, chunk } = chunksOf(gen, endpoint.servedModelName, ctx.now())
  const clientRequestId = request.headers['x-request-id']
  const record = ctx.stats.startStream({
    requestId: String(reply.getHeader('x-request-id')),
    ...(typeof clientRequestId === 'string' ? { clientRequestId } : {}),
    endpoint: endpoint.name,
    kind: gen.kind,
    plannedChunks: count
  })
  reply.hijack()
  const res = reply.raw
  const socket = request.raw.socket
  const closed = new Promise<false>(resolve => {
    res.once('close', () => {
      // Closed before [DONE] was flushed: the client left, unless the emulator is shutting down.
      if (!res.writableFinished) ctx.stats.endStream(record, ctx.lifecycle.closed ? 'closed' : 'cancelled')
      resolve(false)
    })
  })
  res.writeHead(200, {
    ...headersOf(reply),
    'served-model-name': endpoint.servedModelName,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache'
  })
  // Resolves true once the data is handed to the kernel: a client that stops reading holds the stream back.
  const write = (data: string): Promise<boolean> => Promise.race([
    new Promise<boolean>(resolve => res.write(data, err => resolve(err == null))),
    closed
  ])
  const reset = async (): Promise<void> => {
    if (!(await ctx.lifecycle.sleep(CUT_GRACE_MS))) return
    ctx.stats.endStream(record, 'reset')
    socket.resetAndDestroy()
  }

  const pump = async (): Promise<void> => {
    for (let i = 0; i <= count; i++) {
      if (i > 0 && !(await ctx.lifecycle.sleep(endpoint.streamIntervalMs))) {
        socket.destroy()
        return
      }
      if (record.state !== 'streaming') return
      if (cut !== undefined && i >= cut.afterChunks) {
        if (cut.midEvent && i < count) {
          const line = `data: ${JSON.stringify(chunk(i))}`
          if (!(await write(line.slice(0, Math.ceil(line.length / 2))))) return
        }
        return await reset()
      }
      if (i === count) break
      const sent = write(`data: ${JSON.stringify(chunk(i))}${eol}${eol}`)
      record.chunkSentAt.push(preciseNow())
      if (!(await sent)) return
    }
    record.doneSentAt = preciseNow()
    res.end(`data: [DONE]${eol}${eol}`, () => { ctx.stats.endStream(record, 'completed') })
  }
  /* c8 ignore next - pump catches nothing it can throw; this guards against future edits */
  pump().catch(() => socket.destroy())
  return reply
}

/** Sends the head and half the body of a JSON answer, then resets the connection: a response cut midway. */
export function cutJsonAnswer (ctx: EmulatorContext, request: FastifyRequest, reply: FastifyReply, headers: Record<string, string>, payload: object): FastifyReply {
  const body = Buffer.from(JSON.stringify(payload))
  reply.hijack()
  reply.raw.writeHead(200, { ...headersOf(reply), ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) })
  reply.raw.write(body.subarray(0, Math.floor(body.length / 2)))
  const socket = request.raw.socket
  ctx.lifecycle.sleep(CUT_GRACE_MS).then(ok => { if (ok) socket.resetAndDestroy() }, () => {})
  return reply
}

/** The headers already set on a reply (x-request-id…), for a hijacked answer that writes its own head. */
function headersOf (reply: FastifyReply): OutgoingHttpHeaders {
  return reply.getHeaders() as OutgoingHttpHeaders
}
