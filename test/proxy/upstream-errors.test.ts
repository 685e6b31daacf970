import t from 'tap'
import {
  BadRequest, CallerGone, PayloadTooLarge, UpstreamConnectFailed, UpstreamInvalidResponse, UpstreamTimeout, UpstreamUnavailable
} from '../../src/errors.js'
import { describeCause, upstreamError } from '../../src/proxy/upstream-errors.js'

const coded = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code })

t.test('transport failures map onto contract errors by code', async t => {
  const table: Array<[unknown, new (...a: never[]) => Error, string]> = [
    [coded('ECONNREFUSED'), UpstreamConnectFailed, 'UPSTREAM_UNAVAILABLE'],
    [coded('UND_ERR_CONNECT_TIMEOUT'), UpstreamConnectFailed, 'UPSTREAM_UNAVAILABLE'],
    [coded('ENOTFOUND'), UpstreamConnectFailed, 'UPSTREAM_UNAVAILABLE'],
    [coded('DEPTH_ZERO_SELF_SIGNED_CERT'), UpstreamConnectFailed, 'UPSTREAM_UNAVAILABLE'],
    [coded('UND_ERR_HEADERS_TIMEOUT'), UpstreamTimeout, 'UPSTREAM_TIMEOUT'],
    [coded('UND_ERR_BODY_TIMEOUT'), UpstreamTimeout, 'UPSTREAM_TIMEOUT'],
    [coded('UND_ERR_ABORTED'), CallerGone, 'CLIENT_CLOSED_REQUEST'],
    [Object.assign(new Error('x'), { name: 'AbortError' }), CallerGone, 'CLIENT_CLOSED_REQUEST'],
    [coded('HPE_INVALID_CHUNK_SIZE'), UpstreamInvalidResponse, 'UPSTREAM_UNAVAILABLE'],
    [Object.assign(new Error('bad'), { name: 'HTTPParserError', data: 'raw model output' }), UpstreamInvalidResponse, 'UPSTREAM_UNAVAILABLE'],
    [coded('UND_ERR_RES_CONTENT_LENGTH_MISMATCH'), UpstreamInvalidResponse, 'UPSTREAM_UNAVAILABLE'],
    [coded('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'), BadRequest, 'BAD_REQUEST'],
    [coded('ECONNRESET'), UpstreamUnavailable, 'UPSTREAM_UNAVAILABLE'],
    [coded('UND_ERR_SOCKET'), UpstreamUnavailable, 'UPSTREAM_UNAVAILABLE'],
    [new Error('anything else'), UpstreamUnavailable, 'UPSTREAM_UNAVAILABLE'],
    ['a string', UpstreamUnavailable, 'UPSTREAM_UNAVAILABLE'],
    [null, UpstreamUnavailable, 'UPSTREAM_UNAVAILABLE']
  ]
  // A caller that went away is nobody's upstream failure (no breaker count, no 5xx).
  t.notOk(upstreamError(coded('UND_ERR_ABORTED')) instanceof UpstreamUnavailable, 'CallerGone is not an upstream failure')
  for (const [err, cls, code] of table) {
    const mapped = upstreamError(err)
    t.type(mapped, cls, `${String((err as { code?: string } | null)?.code ?? err)} → ${cls.name}`)
    t.equal(mapped.code, code)
    if (!(err instanceof Error)) continue
    t.equal(mapped.cause, err, 'the cause is kept for the log')
  }
  t.notOk(upstreamError(coded('ECONNRESET')) instanceof UpstreamConnectFailed, 'a reset is not retried: the request may have run')
})

t.test('contract errors pass through, directly or as a body stream\'s cause', async t => {
  const tooLarge = new PayloadTooLarge('too big')
  t.equal(upstreamError(tooLarge), tooLarge)
  t.equal(upstreamError(Object.assign(new Error('wrapped'), { cause: tooLarge })), tooLarge)
})

t.test('the log gets code and message only: never raw response bytes, never control characters', async t => {
  const parserError = Object.assign(new Error('Response does not match the HTTP/1.1 protocol'), { name: 'HTTPParserError', code: 'HPE_INVALID_CONSTANT', data: 'SECRET MODEL OUTPUT' })
  const summary = describeCause(upstreamError(parserError))
  t.same(summary, { code: 'HPE_INVALID_CONSTANT', message: 'Response does not match the HTTP/1.1 protocol' })
  t.notMatch(JSON.stringify(summary), 'SECRET')
  t.same(describeCause(coded('E', 'line\r\nbreak\u0000')), { code: 'E', message: 'line??break?' })
  t.equal(describeCause(coded('E', 'x'.repeat(500)))?.message.length, 200, 'cut to 200 characters')
  t.equal(describeCause(undefined), undefined)
  t.same(describeCause(new UpstreamUnavailable('no cause')), { code: 'UPSTREAM_UNAVAILABLE', message: 'no cause' })
})
