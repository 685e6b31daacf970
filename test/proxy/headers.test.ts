import t from 'tap'
import { AUTHORIZATION_SLOT, acceptableRequestId, clientAddress, downstreamHeaders, upstreamHeaders, type UpstreamContext } from '../../src/proxy/headers.js'

const ctx: UpstreamContext = { requestId: 'rid-1', peer: '10.1.2.3', tls: false, trustProxy: false }
/** A flat header list as an object (repeated names joined), for readable assertions. */
function asObject (flat: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i < flat.length; i += 2) {
    const [k, v] = [flat[i] as string, flat[i + 1] as string]
    out[k] = out[k] === undefined ? v : `${out[k]}, ${v}`
  }
  return out
}

t.test('upstream: end-to-end headers pass; hop-by-hop, credentials and underscores do not', async t => {
  const flat = upstreamHeaders({
    host: 'gw.internal:8080',
    'content-type': 'application/json',
    'content-length': '14',
    authorization: 'Bearer caller-key',
    'x-api-key': 'caller-key',
    cookie: 'a=b',
    'proxy-authorization': 'Basic x',
    connection: 'keep-alive, x-hop',
    'x-hop': 'dropped: named in Connection',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    upgrade: 'websocket',
    x_smuggled: 'dropped: underscore',
    'x-custom': 'kept',
    'x-request-id': 'callers-own',
    traceparent: 'callers-own'
  }, ctx)
  t.equal(flat[0], 'authorization')
  t.equal(flat[AUTHORIZATION_SLOT], '', 'the token slot is filled per attempt')
  const h = asObject(flat)
  t.same(Object.keys(h).sort(), ['authorization', 'content-length', 'content-type', 'x-custom', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-request-id'])
  t.equal(h['x-request-id'], 'rid-1', 'the gateway\'s request id, not the caller\'s')
  t.equal(h['x-forwarded-for'], '10.1.2.3')
  t.equal(h['x-forwarded-proto'], 'http')
  t.equal(h['x-forwarded-host'], 'gw.internal:8080')
})

t.test('upstream: a caller\'s own forwarding headers are dropped unless a front proxy is trusted', async t => {
  const incoming = {
    host: 'gw',
    'x-forwarded-for': '1.1.1.1',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'spoofed.example',
    forwarded: 'for=1.1.1.1',
    via: '1.1 evil',
    'x-real-ip': '1.1.1.1'
  }
  const untrusted = asObject(upstreamHeaders(incoming, ctx))
  t.equal(untrusted['x-forwarded-for'], '10.1.2.3', 'only the peer')
  t.equal(untrusted['x-forwarded-proto'], 'http')
  t.equal(untrusted['x-forwarded-host'], 'gw')
  t.equal(untrusted.forwarded, undefined)
  t.equal(untrusted.via, undefined)
  t.equal(untrusted['x-real-ip'], undefined)

  const trusted = asObject(upstreamHeaders(incoming, { ...ctx, trustProxy: true }))
  t.equal(trusted['x-forwarded-for'], '1.1.1.1, 10.1.2.3', 'appended to')
  t.equal(trusted['x-forwarded-proto'], 'https', 'the front proxy\'s')
  t.equal(trusted['x-forwarded-host'], 'spoofed.example')
  t.equal(trusted.forwarded, 'for=1.1.1.1')
  t.equal(trusted.via, '1.1 evil')
  t.equal(asObject(upstreamHeaders({ host: 'gw' }, { ...ctx, tls: true }))['x-forwarded-proto'], 'https', 'a TLS listener says https')
})

t.test('upstream: trace context and request id are the gateway\'s', async t => {
  const h = asObject(upstreamHeaders({ host: 'gw', tracestate: 'theirs' }, { ...ctx, traceparent: '00-abc-def-01', tracestate: 'k=v' }))
  t.equal(h.traceparent, '00-abc-def-01')
  t.equal(h.tracestate, 'k=v')
})

t.test('downstream: hop-by-hop and cookies dropped, extras added, token echoes removed and counted', async t => {
  const token = 'eyJ.scoped.token'
  const out = downstreamHeaders({
    'content-type': 'application/json',
    connection: 'close, x-hop',
    'x-hop': 'dropped',
    'transfer-encoding': 'chunked',
    'set-cookie': ['a=1', 'b=2'],
    'x-request-id': 'upstream-id',
    'x-echo': `Bearer ${token}`,
    'x-multi': ['fine', `has ${token} inside`],
    'x-databricks-reason-phrase': 'kept'
  }, token, ['x-request-id', 'rid-1'])
  t.same(asObject(out.headers), { 'content-type': 'application/json', 'x-multi': 'fine', 'x-databricks-reason-phrase': 'kept', 'x-request-id': 'rid-1' })
  t.equal(out.tokenEchoes, 2)
  t.equal(downstreamHeaders({ a: 'b' }, '', []).tokenEchoes, 0, 'an empty token matches nothing')
})

t.test('client address: the peer, or a trusted proxy\'s last X-Forwarded-For entry; IP-shaped only', async t => {
  t.equal(clientAddress({}, '10.0.0.1', false), '10.0.0.1')
  t.equal(clientAddress({ 'x-forwarded-for': '9.9.9.9' }, '10.0.0.1', false), '10.0.0.1', 'untrusted header ignored')
  t.equal(clientAddress({ 'x-forwarded-for': '6.6.6.6, 9.9.9.9' }, '10.0.0.1', true), '9.9.9.9', 'the entry the proxy wrote')
  t.equal(clientAddress({ 'x-forwarded-for': 'evil"}' }, '10.0.0.1', true), '10.0.0.1', 'junk falls back to the peer')
  t.equal(clientAddress({}, '::ffff:127.0.0.1', false), '::ffff:127.0.0.1')
  t.equal(clientAddress({}, undefined, false), undefined)
})

t.test('request ids: short and plain only', async t => {
  t.ok(acceptableRequestId('abc-123_x.y:z'))
  t.notOk(acceptableRequestId(''))
  t.notOk(acceptableRequestId('a'.repeat(129)))
  t.notOk(acceptableRequestId('has space'))
  t.notOk(acceptableRequestId(['a']))
})
