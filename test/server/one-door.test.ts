// The single decision points of the request path: the door (admitRequest) runs once per request
// whichever way the request is routed, answerError is the one error answer (shape from the
// exchange, x-request-id from answerHeaders), and an exchange's shape is decided when it opens.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import pino, { type Logger } from 'pino'
import { request } from 'undici'
import { EndpointNotFound, PermissionDenied, ServiceUnavailable } from '../../src/errors.js'
import { admitRequest } from '../../src/server/admission.js'
import { answerError } from '../../src/server/errors.js'
import { createExchanges, type Exchange } from '../../src/server/exchange.js'
import { buildGateway } from '../../src/server/gateway.js'
import type { Handlers } from '../../src/server/handlers.js'
import { answerHeaders } from '../../src/proxy/headers.js'

interface Written { status?: number, headers?: string[], body?: string }

function fakeExchange (shape: Exchange['shape']): { ex: Exchange, written: Written } {
  const written: Written = {}
  const res = {
    headersSent: false,
    destroyed: false,
    writableEnded: false,
    writeHead (status: number, headers: string[]) { written.status = status; written.headers = headers; this.headersSent = true },
    end (body: string) { written.body = body; this.writableEnded = true },
    destroy () { this.destroyed = true }
  }
  return { ex: { id: 'req-1', shape, res, error: undefined } as unknown as Exchange, written }
}

function header (headers: string[] | undefined, name: string): string | undefined {
  const i = headers?.indexOf(name) ?? -1
  return i === -1 ? undefined : headers?.[i + 1]
}

function recordingLogger (): { logger: Pick<Logger, 'error'>, lines: unknown[] } {
  const lines: unknown[] = []
  return { logger: { error: (o: unknown) => { lines.push(o) } } as unknown as Pick<Logger, 'error'>, lines }
}

t.test('answerError: the exchange decides the shape; the request id comes from answerHeaders', async t => {
  const { logger, lines } = recordingLogger()
  const db = fakeExchange('databricks')
  answerError(logger, db.ex, new PermissionDenied("caller 'x' may not use endpoint 'y'"))
  t.equal(db.written.status, 403)
  t.same(JSON.parse(db.written.body as string), { error_code: 'PERMISSION_DENIED', message: "caller 'x' may not use endpoint 'y'", request_id: 'req-1' }, 'Databricks shape alone')
  t.equal(header(db.written.headers, 'x-request-id'), 'req-1')
  t.type(db.ex.error, PermissionDenied, 'kept for the access line')

  const both = fakeExchange('both')
  answerError(logger, both.ex, new EndpointNotFound('no such endpoint'))
  t.match(JSON.parse(both.written.body as string), { error_code: 'ENDPOINT_NOT_FOUND', error: { type: 'not_found_error', code: 'ENDPOINT_NOT_FOUND' } }, 'with OpenAI\'s error object')
  t.equal(lines.length, 0, 'contract errors are not logged as bugs')
})

t.test('answerError: a bug is a logged 500 that shows nothing; a framework 4xx keeps its status', async t => {
  const { logger, lines } = recordingLogger()
  const bug = fakeExchange('both')
  answerError(logger, bug.ex, new Error('secret internals at /srv/x'))
  t.equal(bug.written.status, 500)
  t.notMatch(bug.written.body, /secret|srv/, 'the message is not echoed')
  t.match(JSON.parse(bug.written.body as string), { error_code: 'INTERNAL_ERROR' })
  t.equal(lines.length, 1, 'logged once, with its stack')

  const media = fakeExchange('both')
  answerError(logger, media.ex, Object.assign(new Error('bad type'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }))
  t.equal(media.written.status, 415)
  const odd = fakeExchange('both')
  answerError(logger, odd.ex, Object.assign(new Error('teapot'), { statusCode: 418 }))
  t.equal(odd.written.status, 418)
  t.match(JSON.parse(odd.written.body as string), { error_code: 'BAD_REQUEST' })
  t.equal(lines.length, 1, 'framework 4xx are not bugs')
})

t.test('answerError: a response already started is cut, not written into', async t => {
  const started = fakeExchange('databricks')
  ;(started.ex.res as unknown as { headersSent: boolean }).headersSent = true
  answerError(recordingLogger().logger, started.ex, new ServiceUnavailable('late'))
  t.equal(started.written.status, undefined)
  t.ok(started.ex.res.destroyed)
})

t.test('answerHeaders is the request id header', async t => {
  t.same(answerHeaders('abc'), ['x-request-id', 'abc'])
})

function req (headers: Record<string, string>, over: Partial<IncomingMessage> = {}): IncomingMessage {
  const rawHeaders = Object.entries(headers).flat()
  return { headers, rawHeaders, httpVersionMajor: 1, httpVersionMinor: 1, ...over } as unknown as IncomingMessage
}

t.test('admitRequest: load first, then the protocol', async t => {
  t.throws(() => { admitRequest({ overloaded: () => true, maxHeaderCount: 10 }, req({})) }, { code: 'SERVICE_UNAVAILABLE' }, 'shed before the request is looked at')
  t.throws(() => { admitRequest({ overloaded: () => false, maxHeaderCount: 10 }, req({})) }, { code: 'BAD_REQUEST' }, 'no Host')
  t.doesNotThrow(() => { admitRequest({ overloaded: () => false, maxHeaderCount: 10 }, req({ host: 'gw' })) })
})

t.test('an exchange takes its shape from its URL when it opens', async t => {
  const exchanges = createExchanges({ traceMode: 'hop', ids: (n) => '1'.repeat(n * 2), record: () => {} })
  const open = (url: string): Exchange => exchanges.open({ url, headers: {}, socket: {} } as unknown as IncomingMessage, { once: () => {} } as unknown as ServerResponse, 'id')
  t.equal(open('/serving-endpoints/a/invocations').shape, 'databricks')
  t.equal(open('/serving-endpoints/a%2Fb/invocations?x').shape, 'databricks')
  t.equal(open('/v1/chat/completions').shape, 'both')
  t.equal(open('/serving-endpoints/models').shape, 'both')
})

t.test('the door runs once per request, on the fast path and through fastify alike', async t => {
  let overloaded = false
  let doorRuns = 0
  const invoked: string[] = []
  const labelled: string[] = []
  const handlers: Handlers = {
    label: (ex, name) => { labelled.push(name); ex.endpoint = name },
    invocation: (ex, name) => { invoked.push(name); ex.res.writeHead(200, answerHeaders(ex.id)); ex.res.end() },
    openai: (ex) => { ex.res.end() },
    models: (ex) => { ex.res.end() }
  }
  const app = buildGateway({
    logger: pino({ level: 'silent' }),
    metrics: { endpointSeries: () => ({ requests: () => ({ inc: () => {} }) }) } as never,
    exchanges: createExchanges({ traceMode: 'hop', ids: (n) => '1'.repeat(n * 2), record: () => {} }),
    handlers,
    overloaded: () => { doorRuns++; return overloaded },
    limits: { headersTimeoutMs: 5000, requestTimeoutMs: 5000, maxHeaderBytes: 16384, maxHeaderCount: 100 }
  })
  t.teardown(async () => { await app.close() })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const send = async (method: 'GET' | 'POST', path: string, id?: string): Promise<{ status: number, body: string, id: unknown }> => {
    const r = await request(base + path, { method, headers: id === undefined ? {} : { 'x-request-id': id } })
    return { status: r.statusCode, body: await r.body.text(), id: r.headers['x-request-id'] }
  }

  doorRuns = 0
  t.equal((await send('POST', '/serving-endpoints/fraud-model/invocations')).status, 200)
  t.equal(doorRuns, 1, 'fast path: once')

  doorRuns = 0
  t.equal((await send('POST', '/serving-endpoints/fraud%2Dmodel/invocations')).status, 200)
  t.equal(doorRuns, 1, 'an encoded name, routed by fastify: once (the route does not run it again)')
  t.same(invoked, ['fraud-model', 'fraud-model'])
  t.same(labelled, ['fraud-model', 'fraud-model'], 'labelled before the door on both paths')

  doorRuns = 0
  const missing = await send('GET', '/nowhere', 'caller-id-1')
  t.equal(missing.status, 404)
  t.equal(missing.id, 'caller-id-1', 'fastify answers carry the request id')
  t.match(JSON.parse(missing.body), { error_code: 'ENDPOINT_NOT_FOUND', error: { code: 'ENDPOINT_NOT_FOUND' } })
  t.equal(doorRuns, 1, 'not-found: once')

  overloaded = true
  doorRuns = 0
  const shed = await send('POST', '/serving-endpoints/fraud%2Dmodel/invocations', 'caller-id-2')
  t.equal(shed.status, 503)
  t.equal(shed.id, 'caller-id-2')
  t.same(Object.keys(JSON.parse(shed.body)).sort(), ['error_code', 'message', 'request_id'], 'invocation route: Databricks shape alone')
  t.equal(doorRuns, 1)
  const shedFast = await send('POST', '/v1/chat/completions')
  t.equal(shedFast.status, 503)
  t.match(JSON.parse(shedFast.body), { error: { type: 'api_error' } }, 'OpenAI route: both shapes')
  t.same(invoked, ['fraud-model', 'fraud-model'], 'a shed request reaches no handler')
})
