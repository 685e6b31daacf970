// Protocol-level rejections that happen outside (or before) fastify's routing: malformed HTTP,
// oversized headers, slow clients, bad URLs, CONNECT, unknown Expect. Each is answered in the
// contract's JSON shape, counted once and logged once.
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { BadRequest, EndpointNotFound } from '../errors.js'
import { errorBody, errorShapeFor, writeError, type ErrorShape } from '../proxy/error-response.js'
import type { Exchange } from './exchange.js'

export interface GuardDeps {
  logger: Logger
  maxHeaderBytes: number
  maxHeaderCount: number
  /** Counts a rejection that no request line will report (endpoint label `unknown`). */
  count: (status: number) => void
  /** The exchanges in progress on this connection (several when requests are pipelined). */
  exchangeOn: (socket: Duplex) => ReadonlyArray<Pick<Exchange, 'req' | 'res' | 'clientError' | 'shape'>>
}

type Rejection = [status: number, code: string, message: string]

function forClientError (err: NodeJS.ErrnoException, deps: GuardDeps): Rejection {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'REQUEST_TIMEOUT', 'the request was not received in time']
    case 'HPE_HEADER_OVERFLOW':
      // Node 24's parser also raises this past maxHeadersCount.
      return [431, 'HEADERS_TOO_LARGE', `request headers exceed ${deps.maxHeaderBytes} bytes or ${deps.maxHeaderCount} fields`]
    default:
      return [400, 'BAD_REQUEST', 'malformed HTTP request']
  }
}

function writeRaw (socket: Duplex, [status, code, message]: Rejection, extra = '', shape: ErrorShape = 'both'): void {
  const body = JSON.stringify(errorBody(status, code, message, undefined, shape))
  if (socket.writable) {
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`)
  }
}

/**
 * fastify's clientErrorHandler: the socket's parser failed (framing, header size, timeouts).
 * The error belongs to the request still being read on the connection (its own access line
 * reports it), or else to a request that never formed (a 'client error' line, endpoint
 * `unknown`). A response that already started cannot take an error answer: writing one would
 * put a raw `HTTP/1.1 400` inside the body the caller is reading, so the connection is cut.
 */
export function clientErrorHandler (deps: GuardDeps) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    const exchanges = deps.exchangeOn(socket)
    const reading = exchanges.find(ex => !ex.req.complete)
    if (err.code === 'ECONNRESET' || socket.destroyed) {
      // The caller reset the connection mid-request: nothing can be answered (nginx's 499).
      if (reading !== undefined) reading.clientError = { status: 499 }
      return
    }
    const rejection = forClientError(err, deps)
    if (reading !== undefined) {
      reading.clientError = { status: rejection[0], code: rejection[1] }
    } else {
      deps.count(rejection[0])
      deps.logger.info({ status: rejection[0], error_code: rejection[1], parseError: err.code }, 'client error')
    }
    if (exchanges.some(ex => ex.res.headersSent && !ex.res.writableFinished)) {
      socket.destroy()
      return
    }
    writeRaw(socket, rejection, '', reading?.shape)
    ;(socket as Duplex & { destroySoon?: () => void }).destroySoon?.()
  }
}

/**
 * fastify's frameworkErrors: URLs it cannot route (bad percent-encoding, overlong names). They
 * fail before fastify's hooks, so no exchange is open: counted and logged here.
 */
export function frameworkErrors (deps: GuardDeps) {
  return (err: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    // Configured names are at most 63 characters, so an overlong one names no endpoint.
    const answer = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? new EndpointNotFound('no such endpoint') : new BadRequest('malformed request URL')
    deps.count(answer.statusCode)
    request.log.info({ status: answer.statusCode, error_code: answer.code, method: request.method }, 'request completed')
    reply.hijack()
    writeError(reply.raw, answer, request.id, errorShapeFor(request.url))
    return reply
  }
}

/** Answers what Node would otherwise answer bare, or not at all. */
export function installServerGuards (server: Server, deps: GuardDeps): void {
  // CONNECT would make this an open tunnel; with no listener Node just drops the socket.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    deps.count(405)
    deps.logger.info({ status: 405, error_code: 'METHOD_NOT_ALLOWED', method: 'CONNECT' }, 'client error')
    writeRaw(socket, [405, 'METHOD_NOT_ALLOWED', 'CONNECT is not supported: routegate is not a forward proxy'], 'Allow: POST\r\n')
  })
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    deps.count(417)
    deps.logger.info({ status: 417, error_code: 'BAD_REQUEST' }, 'client error')
    res.writeHead(417, { 'content-type': 'application/json', connection: 'close' })
    res.end(JSON.stringify(errorBody(417, 'BAD_REQUEST', 'only Expect: 100-continue is supported', undefined, errorShapeFor(req.url))))
  })
}
