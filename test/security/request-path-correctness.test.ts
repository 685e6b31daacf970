// The request path under hostile callers and misbehaving upstreams, through the real gateway:
// each test drives the input that broke landed main and asserts what the caller, the access
// log and the metrics show.
import * as net from 'node:net'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { CALLER_KEY, sleep, startStack, type Stack } from '../helpers/stack.js'
import { rawOrigin } from '../proxy/helpers/origins.js'
import { recordingOrigin, target } from './helpers/raw.js'

/** A gateway whose endpoint `raw` is served by a scripted TCP origin, and `echo` by a recording one. */
async function stackWith (t: Test, answer: (sock: net.Socket, head: string) => void, opts: { trustProxy?: boolean } = {}) {
  const origin = await rawOrigin(t, answer)
  const recording = await recordingOrigin(t)
  const s = await startStack(t, {
    config: (doc) => {
      const id = doc.endpoints[0]?.endpointId
      doc.endpoints.push({ name: 'raw', workspace: 'emu', url: `${origin.url}/ws/serving-endpoints/raw/invocations`, endpointId: id })
      doc.endpoints.push({ name: 'echo', workspace: 'emu', url: `${recording.url}/ws/serving-endpoints/echo/invocations`, endpointId: id })
      if (opts.trustProxy === true) doc.server.trustProxy = true
    }
  })
  return { s, origin, recording }
}

/**
 * How long a poll waits for what a test expects: generous, for a loaded 2-core machine running
 * two suites; a poll returns as soon as its condition holds, so this only bounds a failure.
 */
const WAIT_MS = 30_000

const logged = (s: Stack): Array<Record<string, any>> => s.logs.map(l => JSON.parse(l) as Record<string, any>)
async function accessLine (s: Stack, id: string): Promise<Record<string, any> | undefined> {
  const find = (): Record<string, any> | undefined => logged(s).find(l => l.msg === 'request completed' && l.requestId === id)
  await until(() => find() !== undefined)
  return find()
}
async function metricsText (s: Stack): Promise<string> {
  return await (await request(`${s.adminUrl}/metrics`)).body.text()
}

/** A raw connection to the gateway collecting every byte it sends back. */
async function rawConnection (t: Test, url: string): Promise<{ sock: net.Socket, received: () => string, closed: Promise<void> }> {
  const { host, port } = target(url)
  const sock = net.connect(port, host)
  t.teardown(() => { sock.destroy() })
  sock.on('error', () => {})
  let received = ''
  sock.on('data', (d: Buffer) => { received += d.toString('latin1') })
  const closed = new Promise<void>(resolve => sock.once('close', () => resolve()))
  await new Promise<void>(resolve => sock.once('connect', () => resolve()))
  return { sock, received: () => received, closed }
}

async function until (cond: () => boolean, ms = WAIT_MS): Promise<boolean> {
  const end = Date.now() + ms
  while (!cond() && Date.now() < end) await sleep(10)
  return cond()
}

/** Waits for `closed`, up to WAIT_MS (the assertions after it say whether it happened). */
async function closedOrTimedOut (closed: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([closed, new Promise<void>(resolve => { timer = setTimeout(resolve, WAIT_MS) })])
  clearTimeout(timer)
}

const head = (id: string, lines: string[], path = '/serving-endpoints/raw/invocations'): string =>
  `POST ${path} HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${CALLER_KEY}\r\nX-Request-Id: ${id}\r\n${lines.map(l => `${l}\r\n`).join('')}\r\n`

// A streaming answer that stays open: headers and one event, then silence.
const streaming = (sock: net.Socket): void => {
  sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\nf\r\ndata: {"a":1}\n\n\r\n')
}

t.test('garbage pipelined behind a streaming response cuts the connection; no raw 400 inside the stream', async t => {
  const { s } = await stackWith(t, streaming)
  const c = await rawConnection(t, s.gatewayUrl)
  c.sock.write(head('stream-a', ['Content-Length: 2']) + '{}')
  t.ok(await until(() => c.received().includes('data: {"a":1}')), 'the stream is flowing')
  c.sock.write('NOT HTTP AT ALL\r\n\r\n')
  await closedOrTimedOut(c.closed)
  t.ok(c.sock.destroyed || c.sock.readableEnded, 'the gateway cut the connection')
  t.equal(c.received().split('HTTP/1.1 ').length - 1, 1, 'one status line only: nothing written into the stream')
  t.notMatch(c.received(), '400', 'no 400 in the body')
  const a = await accessLine(s, 'stream-a')
  t.equal(a?.status, 499, 'the streaming request ended with its connection')
  t.ok(await until(() => logged(s).some(l => l.msg === 'client error' && l.status === 400)), 'the garbage is logged as its own client error')
})

t.test('a bad chunk in a body still being read while its response streams: charged to that request, connection cut', async t => {
  const { s } = await stackWith(t, streaming)
  const c = await rawConnection(t, s.gatewayUrl)
  c.sock.write(head('chunk-a', ['Transfer-Encoding: chunked', 'Content-Type: application/json']) + '2\r\n{}\r\n')
  t.ok(await until(() => c.received().includes('data: {"a":1}')), 'the response started before the body ended')
  c.sock.write('zz\r\nnot a chunk\r\n')
  await closedOrTimedOut(c.closed)
  t.equal(c.received().split('HTTP/1.1 ').length - 1, 1, 'no raw answer written into the stream')
  const a = await accessLine(s, 'chunk-a')
  t.match(a, { status: 400, error_code: 'BAD_REQUEST' }, 'the request that caused it carries the error')
})

t.test('an upstream that resets after its headers: 502 in metrics and log, the caller\'s response aborted', async t => {
  const { s } = await stackWith(t, (sock) => {
    sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"predictions":')
    setTimeout(() => sock.destroy(), 30)
  })
  const res = await request(`${s.gatewayUrl}/serving-endpoints/raw/invocations`, { method: 'POST', headers: { authorization: `Bearer ${CALLER_KEY}`, 'x-request-id': 'reset-1' }, body: '{}' })
  t.equal(res.statusCode, 200)
  await t.rejects(res.body.text(), 'never a clean end')
  const line = await accessLine(s, 'reset-1')
  t.match(line, { status: 502, error_code: 'UPSTREAM_UNAVAILABLE', cause: { code: 'UND_ERR_SOCKET', message: String } })
  t.same(Object.keys(line?.cause ?? {}).sort(), ['code', 'message'], 'code and message only: no stack for an expected failure')
  t.match(await metricsText(s), /routegate_requests_total\{endpoint="raw",code="502"\} 1/)
  t.notMatch(await metricsText(s), /routegate_requests_total\{endpoint="raw",code="499"\}/)
})

t.test('answers that are not valid HTTP are 502 UPSTREAM_UNAVAILABLE; raw upstream bytes never reach the log', async t => {
  const answers = [
    'HTTP/1.1 999 Weird\r\nContent-Length: 21\r\n\r\nSECRET-MODEL-OUTPUT-1',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nSECRET-MODEL-OUTPUT-2\r\n',
    'HTTP/1.1 304 Not Modified\r\nContent-Length: 21\r\n\r\nSECRET-MODEL-OUTPUT-3',
    'SECRET-MODEL-OUTPUT-4 is not a status line\r\n\r\n'
  ]
  let n = 0
  const { s } = await stackWith(t, (sock) => { sock.end(answers[n++ % answers.length] ?? '') })
  for (let i = 0; i < answers.length; i++) {
    const res = await request(`${s.gatewayUrl}/serving-endpoints/raw/invocations`, { method: 'POST', headers: { authorization: `Bearer ${CALLER_KEY}`, 'x-request-id': `invalid-${i}` }, body: '{}' })
    const text = await res.body.text().catch(() => 'aborted')
    const line = await accessLine(s, `invalid-${i}`)
    if (res.statusCode === 200) t.equal(text, 'aborted', `answer ${i}: a started answer is aborted`)
    else t.equal(res.statusCode, 502, `answer ${i}: a whole 502`)
    t.not(res.statusCode, 500, `answer ${i}: never 500`)
    t.equal(line?.status, 502, `answer ${i}: counted as 502`)
    t.equal(line?.error_code, 'UPSTREAM_UNAVAILABLE')
  }
  t.notMatch(s.logs.join('\n'), 'SECRET-MODEL-OUTPUT', 'no upstream bytes in any log line')
  t.notMatch(await metricsText(s), /code="500"/)
})

t.test('an upstream that echoes the scoped token in a response header: the header is dropped and counted', async t => {
  const { s } = await stackWith(t, (sock, h) => {
    const auth = /authorization: (.*)\r?\n?/i.exec(h)?.[1]?.replace(/\r$/, '') ?? ''
    sock.write(`HTTP/1.1 200 OK\r\nX-Echo-Authorization: ${auth}\r\nContent-Length: 2\r\n\r\n{}`)
  })
  const res = await request(`${s.gatewayUrl}/serving-endpoints/raw/invocations`, { method: 'POST', headers: { authorization: `Bearer ${CALLER_KEY}`, 'x-request-id': 'echo-1' }, body: '{}' })
  await res.body.dump()
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-echo-authorization'], undefined, 'the token never reaches the caller')
  t.match(await accessLine(s, 'echo-1'), { tokenEchoes: 1 })
  t.match(await metricsText(s), /routegate_upstream_token_echoes_total\{endpoint="raw"\} 1/)
})

t.test('forwarding headers: the gateway sets X-Forwarded-*, drops the caller\'s own and names with _', async t => {
  const { s, recording } = await stackWith(t, streaming)
  const send = async (id: string): Promise<void> => {
    const res = await request(`${s.gatewayUrl}/serving-endpoints/echo/invocations`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${CALLER_KEY}`,
        'x-request-id': id,
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'spoofed.example',
        'x-forwarded-proto': 'https',
        forwarded: 'for=6.6.6.6',
        via: '1.1 spoof',
        x_user: 'admin',
        'x-user': 'caller'
      },
      body: '{}'
    })
    await res.body.dump()
  }
  await send('fwd-1')
  const seen = recording.seen.find(r => r.headers['x-request-id'] === 'fwd-1')
  t.equal(seen?.headers['x-forwarded-for'], '127.0.0.1', 'the peer, not the caller\'s claim')
  t.equal(seen?.headers['x-forwarded-proto'], 'http')
  t.equal(seen?.headers['x-forwarded-host'], target(s.gatewayUrl).host + ':' + String(target(s.gatewayUrl).port))
  t.equal(seen?.headers.forwarded, undefined)
  t.equal(seen?.headers.via, undefined)
  t.equal(seen?.headers.x_user, undefined, 'a name with _ is not forwarded')
  t.equal(seen?.headers['x-user'], 'caller')
  t.match(await accessLine(s, 'fwd-1'), { client: '127.0.0.1' })
})

t.test('forwarding headers behind a trusted front proxy: appended to, and the client is the proxy\'s entry', async t => {
  const { s, recording } = await stackWith(t, streaming, { trustProxy: true })
  const res = await request(`${s.gatewayUrl}/serving-endpoints/echo/invocations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CALLER_KEY}`, 'x-request-id': 'fwd-2', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', via: '1.1 lb' },
    body: '{}'
  })
  await res.body.dump()
  const seen = recording.seen.find(r => r.headers['x-request-id'] === 'fwd-2')
  t.equal(seen?.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1')
  t.equal(seen?.headers['x-forwarded-proto'], 'https')
  t.equal(seen?.headers.via, '1.1 lb')
  t.match(await accessLine(s, 'fwd-2'), { client: '203.0.113.7' })
})

t.test('100 Continue is sent only to an authenticated caller', async t => {
  const { s } = await stackWith(t, streaming)
  const stranger = await rawConnection(t, s.gatewayUrl)
  stranger.sock.write('POST /serving-endpoints/echo/invocations HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer wrong\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n')
  t.ok(await until(() => stranger.received().includes('\r\n\r\n')))
  t.match(stranger.received(), /^HTTP\/1\.1 401 /, 'a 401 straight away, no 100 Continue first')
  const known = await rawConnection(t, s.gatewayUrl)
  known.sock.write(`POST /serving-endpoints/echo/invocations HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${CALLER_KEY}\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n`)
  t.ok(await until(() => known.received().includes('100 Continue')), 'the known caller is invited to send its body')
  known.sock.write('{}')
  t.ok(await until(() => /HTTP\/1\.1 200 /.test(known.received())), 'and answered')
})

t.test('a refusal for a configured endpoint is counted under it; an unknown name stays `unknown`', async t => {
  const { s } = await stackWith(t, streaming)
  const r1 = await request(`${s.gatewayUrl}/serving-endpoints/fraud-model/invocations`, { method: 'POST', body: '{}' })
  await r1.body.dump()
  const r2 = await request(`${s.gatewayUrl}/serving-endpoints/no-such/invocations`, { method: 'POST', body: '{}' })
  await r2.body.dump()
  t.equal(r1.statusCode, 401)
  t.equal(r2.statusCode, 401)
  // Both are counted when their responses finish: the access log says so.
  t.ok(await until(() => logged(s).filter(l => l.msg === 'request completed' && l.status === 401).length === 2))
  const text = await metricsText(s)
  t.match(text, /routegate_requests_total\{endpoint="fraud-model",code="401"\} 1/)
  t.match(text, /routegate_requests_total\{endpoint="unknown",code="401"\} 1/)
})

t.test('bytesIn and bytesOut count body bytes, both ways', async t => {
  const { s } = await stackWith(t, streaming)
  const body = JSON.stringify({ inputs: ['x'.repeat(1000)] })
  const res = await s.invoke('fraud-model', body, { 'x-request-id': 'bytes-1' })
  t.equal(res.status, 200)
  t.match(await accessLine(s, 'bytes-1'), { bytesIn: Buffer.byteLength(body), bytesOut: Buffer.byteLength(res.text) })
})
