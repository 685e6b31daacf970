// The forwarder on its own: a plain node:http server hands each request to it, and plain
// node:http or raw TCP origins play the endpoint. No fastify, no broker, no registry.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { request } from 'undici'
import type { Route } from '../../src/endpoints/registry.js'
import { CallerGone, CircuitOpen, RoutegateError, UpstreamConnectFailed, UpstreamInvalidResponse } from '../../src/errors.js'
import { CircuitBreaker } from '../../src/proxy/breaker.js'
import { createForwarder, createForwardState, type ForwardState, type TokenSource } from '../../src/proxy/forwarder.js'
import { upstreamHeaders } from '../../src/proxy/headers.js'
import { Pools, poolKey } from '../../src/proxy/pools.js'
import { writeError } from '../../src/proxy/error-response.js'
import { plainServer, rawOrigin } from './helpers/origins.js'
import { waitFor } from '../helpers/wait.js'

function routeTo (url: string, extra: Partial<Route> = {}): Route {
  const u = new URL(url)
  const settings = { connections: 4, connectTimeoutMs: 1000, caFile: undefined }
  return {
    name: 'ep',
    workspace: 'ws',
    origin: u.origin,
    path: '/ws/serving-endpoints/ep/invocations',
    endpointId: 'ep-id',
    action: 'query_inference_endpoint',
    timeoutMs: 5000,
    idleTimeoutMs: 5000,
    ...settings,
    poolKey: poolKey(u.origin, settings),
    token: { key: 'k', workspace: 'ws', endpoint: 'ep', mint: async () => ({ accessToken: 'x', expiresInMs: 1 }) },
    discovered: false,
    ...extra
  }
}

/** Hands out tokens from `seq` in turn, counting calls and invalidations. */
function tokenSource (seq: string[]): TokenSource & { gets: number, invalidated: string[] } {
  let i = 0
  let held: string | undefined
  return {
    gets: 0,
    invalidated: [],
    fresh: () => held,
    async get () {
      this.gets++
      held = seq[Math.min(i++, seq.length - 1)]
      return held as string
    },
    invalidate (_spec, token) {
      this.invalidated.push(token)
      if (held !== token) return false
      held = undefined
      return true
    },
    accepted () {},
    isRefused: () => false
  }
}

interface Rig {
  url: string
  states: ForwardState[]
  errors: RoutegateError[]
  tokens: ReturnType<typeof tokenSource>
  breaker: CircuitBreaker
  pools: Pools
}

async function rig (t: Test, origin: string, opts: { tokens?: string[], replayBufferBytes?: number, pools?: Pools, route?: Partial<Route> } = {}): Promise<Rig> {
  const tokens = tokenSource(opts.tokens ?? ['tok-1', 'tok-2', 'tok-3'])
  const breaker = new CircuitBreaker({ failures: 3, openMs: 60_000 })
  const pools = opts.pools ?? new Pools()
  t.teardown(() => pools.destroy())
  const route = routeTo(origin, opts.route)
  const forwarder = createForwarder({
    pools,
    tokens,
    routes: { peek: () => route, resolve: async () => route, evict: () => {} },
    breakerFor: () => breaker,
    replayBufferBytes: opts.replayBufferBytes ?? 1024
  })
  const states: ForwardState[] = []
  const errors: RoutegateError[] = []
  const url = await plainServer(t, (req: IncomingMessage, res: ServerResponse) => {
    const state = createForwardState()
    states.push(state)
    forwarder.forward({
      req,
      res,
      endpoint: 'ep',
      bodyLimitBytes: 4096,
      headers: upstreamHeaders(req.headers, { requestId: 'rid', peer: req.socket.remoteAddress, tls: false, trustProxy: false }),
      responseHeaders: ['x-request-id', 'rid'],
      requestId: 'rid',
      shape: 'databricks',
      state
    }).catch((err: RoutegateError) => {
      errors.push(err)
      writeError(res, err, 'rid', 'databricks')
    })
  })
  return { url, states, errors, tokens, breaker, pools }
}

async function originServer (t: Test, handle: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ url: string, seen: Array<{ headers: IncomingMessage['headers'], body: string }> }> {
  const seen: Array<{ headers: IncomingMessage['headers'], body: string }> = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => { body += c })
    req.on('end', () => {
      seen.push({ headers: req.headers, body })
      handle(req, res, body)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

t.test('a small body is read whole and forwarded with the scoped token; the answer streams back', async t => {
  const origin = await originServer(t, (_req, res, body) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' })
    res.end(`{"echo":${body}}`)
  })
  const r = await rig(t, origin.url)
  const res = await request(`${r.url}/anything`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer caller-key' }, body: '{"inputs":[1]}' })
  t.equal(res.statusCode, 200)
  t.equal(await res.body.text(), '{"echo":{"inputs":[1]}}')
  t.equal(res.headers['x-upstream'], 'yes', 'upstream headers pass')
  t.equal(res.headers['x-request-id'], 'rid', 'the gateway adds its own')
  t.equal(origin.seen[0]?.headers.authorization, 'Bearer tok-1', 'the scoped token replaces the caller key')
  t.equal(origin.seen[0]?.headers['content-length'], '14')
  const s = r.states[0] as ForwardState
  t.equal(s.bytesIn(), 14, 'body bytes in')
  t.equal(s.bytesOut, 23, 'body bytes out')
  t.ok(s.dispatchedAt > 0 && s.headersAt >= s.dispatchedAt, 'timed')
  t.equal(s.failure, undefined)
})

t.test('a 401 is replayed once with a new token; a second 401 goes to the caller', async t => {
  let refuse = 1
  const origin = await originServer(t, (req, res) => {
    if (refuse-- > 0 || req.headers.authorization === 'Bearer bad') {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end('{"error_code":"UNAUTHENTICATED"}')
      return
    }
    res.end('ok')
  })
  const r = await rig(t, origin.url)
  const ok = await request(`${r.url}/x`, { method: 'POST', body: 'hello' })
  t.equal(ok.statusCode, 200)
  t.equal(await ok.body.text(), 'ok')
  t.same(origin.seen.map(s => [s.headers.authorization, s.body]), [['Bearer tok-1', 'hello'], ['Bearer tok-2', 'hello']], 'the same body, sent again with a fresh token')
  t.same(r.tokens.invalidated, ['tok-1'], 'the refused token was dropped')
  t.equal(r.states[0]?.replayed, true)

  const r2 = await rig(t, origin.url, { tokens: ['bad'] })
  const refused = await request(`${r2.url}/x`, { method: 'POST', body: 'hello' })
  t.equal(refused.statusCode, 401, 'the endpoint\'s own 401 after the one replay')
  t.equal(await refused.body.text(), '{"error_code":"UNAUTHENTICATED"}')
  t.equal(r2.tokens.gets, 2, 'exactly one replay: two token look-ups')
})

t.test('a streamed body (over the replay buffer) is never replayed', async t => {
  const origin = await originServer(t, (_req, res) => { res.writeHead(401); res.end('no') })
  const r = await rig(t, origin.url, { replayBufferBytes: 4 })
  const res = await request(`${r.url}/x`, { method: 'POST', body: 'more than four bytes' })
  t.equal(res.statusCode, 401)
  await res.body.dump()
  t.equal(origin.seen.length, 1, 'one attempt')
  t.equal(origin.seen[0]?.body, 'more than four bytes', 'streamed intact')
})

t.test('a connect failure is retried once, then answered 502; the breaker counts both', async t => {
  const closed = await rawOrigin(t, () => {})
  const port = new URL(closed.url).port
  // Nothing listens on a port we reserve and release.
  const srv = createServer()
  await new Promise<void>(resolve => srv.listen(0, '127.0.0.1', resolve))
  const dead = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`
  await new Promise<void>(resolve => srv.close(() => resolve()))
  t.not(port, '', 'a port')
  const r = await rig(t, dead)
  const res = await request(`${r.url}/x`, { method: 'POST', body: 'b' })
  t.equal(res.statusCode, 502)
  t.match(await res.body.json(), { error_code: 'UPSTREAM_UNAVAILABLE' })
  t.type(r.errors[0], UpstreamConnectFailed)
  await request(`${r.url}/x`, { method: 'POST', body: 'b' }).then(x => x.body.dump())
  t.equal(r.breaker.state, 'open', 'two requests × two attempts opened a breaker of three')
  const fast = await request(`${r.url}/x`, { method: 'POST', body: 'b' })
  t.equal(fast.statusCode, 502)
  t.ok(Number(fast.headers['retry-after']) > 0, 'Retry-After while failing fast')
  await fast.body.dump()
  t.type(r.errors[2], CircuitOpen)
})

t.test('an upstream that breaks off after the headers: the caller\'s response is aborted, counted as a 502 failure', async t => {
  const origin = await rawOrigin(t, (sock) => {
    sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"partial":')
    setTimeout(() => sock.destroy(), 50)
  })
  const r = await rig(t, origin.url)
  const res = await request(`${r.url}/x`, { method: 'POST', body: 'b' })
  t.equal(res.statusCode, 200, 'the headers had gone out')
  await t.rejects(res.body.text(), 'the body does not end cleanly')
  await waitFor(() => r.states[0]?.failure !== undefined)
  t.equal(r.states[0]?.failure?.code, 'UPSTREAM_UNAVAILABLE')
  t.equal(r.states[0]?.failure?.statusCode, 502)
})

t.test('an event stream cut mid-event: the partial event is withheld, one error event follows, then the abort', async t => {
  const origin = await rawOrigin(t, (sock) => {
    sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n')
    sock.write('f\r\ndata: {"a":1}\n\n\r\n')
    sock.write('9\r\ndata: {"b\r\n')
    setTimeout(() => sock.destroy(), 50)
  })
  const r = await rig(t, origin.url)
  const res = await request(`${r.url}/x`, { method: 'POST', body: 'b' })
  let text = ''
  res.body.setEncoding('utf8')
  await t.rejects((async () => { for await (const c of res.body) text += c as string })(), 'aborted, not ended')
  t.equal(text, 'data: {"a":1}\n\ndata: {"error":{"message":"connection to the endpoint was reset","type":"api_error","code":"UPSTREAM_UNAVAILABLE"}}\n\n')
})

t.test('answers that are not HTTP the gateway can pass on are 502, never 500', async t => {
  const cases: Array<[string, string]> = [
    ['status 999', 'HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\nhi'],
    ['garbage status line', 'HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n'],
    ['not HTTP at all', 'SSH-2.0-OpenSSH_9.0\r\n\r\n']
  ]
  for (const [name, bytes] of cases) {
    const origin = await rawOrigin(t, (sock) => { sock.end(bytes) })
    const r = await rig(t, origin.url)
    const res = await request(`${r.url}/x`, { method: 'POST', body: 'b' })
    t.equal(res.statusCode, 502, name)
    t.match(await res.body.json(), { error_code: 'UPSTREAM_UNAVAILABLE' }, name)
    t.ok(r.errors[0] instanceof UpstreamInvalidResponse || r.errors[0]?.code === 'UPSTREAM_UNAVAILABLE', `${name}: ${r.errors[0]?.constructor.name}`)
  }
})

t.test('a response header holding the scoped token is dropped and counted', async t => {
  const origin = await originServer(t, (req, res) => {
    res.writeHead(200, { 'x-echo-auth': String(req.headers.authorization), 'x-fine': 'ok' })
    res.end('done')
  })
  const r = await rig(t, origin.url)
  const res = await request(`${r.url}/x`, { method: 'POST', body: 'b' })
  await res.body.dump()
  t.equal(res.headers['x-echo-auth'], undefined, 'the echo is gone')
  t.equal(res.headers['x-fine'], 'ok')
  t.equal(r.states[0]?.tokenEchoes, 1)
})

t.test('the caller leaving cancels the upstream request and frees its connection', async t => {
  const origin = await rawOrigin(t, () => { /* never answers */ })
  const r = await rig(t, origin.url)
  const ac = new AbortController()
  const pending = request(`${r.url}/x`, { method: 'POST', body: 'b', signal: ac.signal }).catch((e: unknown) => e)
  await waitFor(() => origin.heads.length > 0)
  const key = poolKey(new URL(origin.url).origin, { connections: 4, connectTimeoutMs: 1000 })
  t.equal(r.pools.stats(key)?.running, 1, 'in flight upstream')
  ac.abort()
  await pending
  await waitFor(() => (r.pools.stats(key)?.running ?? 0) === 0)
  t.equal(r.pools.stats(key)?.running, 0, 'cancelled: the pool slot is free')
  await waitFor(() => r.errors.length > 0)
  t.type(r.errors[0], CallerGone)
  t.equal(r.breaker.state, 'closed', 'the caller leaving is not the endpoint\'s failure')
})

t.test('endpoints on one origin share a pool only with the same settings', async t => {
  const pools = new Pools()
  t.teardown(() => pools.destroy())
  const a = { connections: 4, connectTimeoutMs: 1000 }
  const b = { connections: 8, connectTimeoutMs: 1000 }
  const origin = 'http://127.0.0.1:1'
  t.equal(poolKey(origin, a), poolKey(origin, { ...a }), 'same settings, same key')
  t.not(poolKey(origin, a), poolKey(origin, b), 'other settings, other key')
  const pa = pools.get(poolKey(origin, a), origin, a)
  t.equal(pools.get(poolKey(origin, { ...a }), origin, a), pa, 'shared')
  t.not(pools.get(poolKey(origin, b), origin, b), pa, 'separate')
  t.equal(pools.size, 2)
})

t.test('bad chunk framing after the headers is an invalid answer: aborted, never a clean end', async t => {
  const origin = await rawOrigin(t, (sock) => {
    sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nSECRET-MODEL-OUTPUT\r\n')
  })
  const r = await rig(t, origin.url)
  const res = await request(`${r.url}/x`, { method: 'POST', body: 'b' })
  await t.rejects(res.body.text())
  await waitFor(() => r.states[0]?.failure !== undefined)
  t.type(r.states[0]?.failure, UpstreamInvalidResponse)
  t.equal(r.states[0]?.failure?.message, 'endpoint answered with invalid HTTP')
})
