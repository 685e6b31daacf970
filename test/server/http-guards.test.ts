// clientErrorHandler on its own: fake sockets and exchanges, no server.
import type { Duplex } from 'node:stream'
import t from 'tap'
import type { Logger } from 'pino'
import { clientErrorHandler, type GuardDeps } from '../../src/server/http-guards.js'

interface FakeSocket { destroyed: boolean, writable: boolean, written: string, ended: boolean, end: (s: string) => void, destroy: () => void, destroySoon: () => void }
function socket (): FakeSocket {
  const s: FakeSocket = {
    destroyed: false,
    writable: true,
    written: '',
    ended: false,
    end (data) { this.written += data; this.ended = true },
    destroy () { this.destroyed = true },
    destroySoon () { this.ended = true }
  }
  return s
}

type Ex = ReturnType<GuardDeps['exchangeOn']>[number]
function exchange (opts: { complete: boolean, headersSent: boolean, finished?: boolean }): Ex {
  return { req: { complete: opts.complete }, res: { headersSent: opts.headersSent, writableFinished: opts.finished ?? false }, clientError: undefined } as unknown as Ex
}

function deps (...ex: Ex[]): GuardDeps & { counted: number[], lines: Array<Record<string, unknown>> } {
  const counted: number[] = []
  const lines: Array<Record<string, unknown>> = []
  return {
    counted,
    lines,
    logger: { info: (o: Record<string, unknown>) => { lines.push(o) } } as unknown as Logger,
    maxHeaderBytes: 16384,
    maxHeaderCount: 100,
    count: (status) => { counted.push(status) },
    exchangeOn: () => ex
  }
}
const err = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code })

t.test('a parse error with no request in progress: a raw JSON answer, counted and logged once', async t => {
  const d = deps()
  const s = socket()
  clientErrorHandler(d)(err('HPE_INVALID_METHOD'), s as unknown as Duplex)
  t.match(s.written, /^HTTP\/1\.1 400 Bad Request\r\n/)
  t.match(s.written, /Connection: close\r\n\r\n\{"error_code":"BAD_REQUEST","message":"malformed HTTP request","error":\{"message":"malformed HTTP request","type":"invalid_request_error","code":"BAD_REQUEST"\}\}$/)
  t.same(d.counted, [400])
  t.match(d.lines, [{ status: 400, error_code: 'BAD_REQUEST', parseError: 'HPE_INVALID_METHOD' }])
})

t.test('timeouts and oversized headers get their own statuses', async t => {
  for (const [code, status] of [['ERR_HTTP_REQUEST_TIMEOUT', 408], ['HPE_HEADER_OVERFLOW', 431]] as const) {
    const d = deps()
    const s = socket()
    clientErrorHandler(d)(err(code), s as unknown as Duplex)
    t.match(s.written, new RegExp(`^HTTP/1\\.1 ${status} `), code)
    t.same(d.counted, [status])
  }
})

t.test('a request still being read takes the error on its own access line, not a client error line', async t => {
  const ex = exchange({ complete: false, headersSent: false })
  const d = deps(ex)
  const s = socket()
  clientErrorHandler(d)(err('HPE_INVALID_CHUNK_SIZE'), s as unknown as Duplex)
  t.same(ex.clientError, { status: 400, code: 'BAD_REQUEST' })
  t.same(d.counted, [], 'not counted twice')
  t.same(d.lines, [])
  t.match(s.written, /^HTTP\/1\.1 400 /, 'nothing was answered yet: the 400 can still be written')
})

t.test('a response already streaming is never written into: the connection is cut', async t => {
  const reading = exchange({ complete: false, headersSent: true })
  const d1 = deps(reading)
  const s1 = socket()
  clientErrorHandler(d1)(err('HPE_INVALID_CHUNK_SIZE'), s1 as unknown as Duplex)
  t.equal(s1.written, '', 'no raw answer inside the body')
  t.equal(s1.destroyed, true)
  t.same(reading.clientError, { status: 400, code: 'BAD_REQUEST' }, 'charged to the request being read')

  const answering = exchange({ complete: true, headersSent: true })
  const d2 = deps(answering)
  const s2 = socket()
  clientErrorHandler(d2)(err('HPE_INVALID_METHOD'), s2 as unknown as Duplex)
  t.equal(s2.written, '')
  t.equal(s2.destroyed, true)
  t.equal(answering.clientError, undefined, 'the request being answered did not cause it')
  t.same(d2.counted, [400], 'the garbage counts as a request of its own')
  t.equal(d2.lines.length, 1)
})

t.test('a finished response on a kept-alive connection does not stop a normal answer', async t => {
  const done = exchange({ complete: true, headersSent: true, finished: true })
  const s = socket()
  clientErrorHandler(deps(done))(err('HPE_INVALID_METHOD'), s as unknown as Duplex)
  t.match(s.written, /^HTTP\/1\.1 400 /)
})

t.test('a reset connection gets nothing; a request being read is recorded as 499', async t => {
  const ex = exchange({ complete: false, headersSent: false })
  const d = deps(ex)
  const s = socket()
  clientErrorHandler(d)(err('ECONNRESET'), s as unknown as Duplex)
  t.equal(s.written, '')
  t.same(ex.clientError, { status: 499 })
  t.same(d.counted, [])
})

t.test('pipelined: a queued request after a streaming one does not let a raw answer into the stream', async t => {
  const streaming = exchange({ complete: true, headersSent: true })
  const queued = exchange({ complete: true, headersSent: false })
  const d = deps(streaming, queued)
  const s = socket()
  clientErrorHandler(d)(err('HPE_INVALID_METHOD'), s as unknown as Duplex)
  t.equal(s.written, '', 'nothing written into the streaming body')
  t.equal(s.destroyed, true)
})
