import t, { type Test } from 'tap'
import { CALLER_KEY, sleep, startStack } from '../helpers/stack.js'
import { trickle, type RawAnswer } from './helpers/raw.js'

// Slowloris through the real listener: headers or a body trickled slower than the server's
// timeouts must get 408 REQUEST_TIMEOUT (or a closed connection) soon after the timeout, reach
// no upstream, and leave the gateway serving.

const HEADERS_TIMEOUT_MS = 500
const REQUEST_TIMEOUT_MS = 1500
// Node enforces both timeouts from a periodic connection check: allow it a little slack.
const SLACK_MS = 2000
const BODY = '{"inputs":[1]}'

function timedOut (t: Test, name: string, a: RawAnswer, boundMs: number): void {
  t.ok(a.status === 408 || (a.status === undefined && a.closed), `${name}: 408 or closed within ${boundMs} ms (got ${a.status ?? (a.closed ? 'closed' : 'nothing')} after ${Math.round(a.ms)} ms)`)
  if (a.status !== undefined) {
    t.equal(a.status, 408, `${name}: 408`)
    // With the request line read, the invocation route's shape (Databricks' alone); before it, both.
    const body = JSON.parse(a.body) as Record<string, unknown>
    t.match(body, { error_code: 'REQUEST_TIMEOUT', message: 'the request was not received in time' }, `${name}: contract JSON`)
    if (body.error !== undefined) t.same(body.error, { message: 'the request was not received in time', type: 'invalid_request_error', code: 'REQUEST_TIMEOUT' }, `${name}: OpenAI error object`)
  }
}

t.test('headers or a body trickled slower than the server timeouts: 408 or closed, nothing upstream, still serving', async t => {
  const s = await startStack(t, {
    config: (doc) => {
      doc.server.headersTimeoutMs = HEADERS_TIMEOUT_MS
      doc.server.requestTimeoutMs = REQUEST_TIMEOUT_MS
    }
  })
  const head = (id: string) => `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: gateway.test\r\nAuthorization: Bearer ${CALLER_KEY}\r\n` +
    `X-Request-Id: ${id}\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n`

  const [headers, idle, body] = await Promise.all([
    // One header byte every 100 ms: the whole head would take ~20 s.
    trickle(t, s.gatewayUrl, head('slow-headers').split(''), 100, HEADERS_TIMEOUT_MS + SLACK_MS),
    // A connection that never sends a byte.
    trickle(t, s.gatewayUrl, [], 100, HEADERS_TIMEOUT_MS + SLACK_MS),
    // Headers at once, then one body byte every 400 ms: the body would take ~5.6 s.
    trickle(t, s.gatewayUrl, [head('slow-body'), ...BODY.split('')], 400, REQUEST_TIMEOUT_MS + SLACK_MS)
  ])
  timedOut(t, 'slow headers', headers, HEADERS_TIMEOUT_MS + SLACK_MS)
  timedOut(t, 'idle connection', idle, HEADERS_TIMEOUT_MS + SLACK_MS)
  timedOut(t, 'slow body', body, REQUEST_TIMEOUT_MS + SLACK_MS)
  t.ok(body.written < BODY.length + 1, 'the slow body was never completed')

  // The slow-body request was formed: its access line says what its caller saw.
  const line = async () => {
    const deadline = Date.now() + 30_000 // returns as soon as the line is there; generous for a loaded machine
    for (;;) {
      const found = s.logs.map(l => JSON.parse(l) as Record<string, unknown>).find(l => l.msg === 'request completed' && l.requestId === 'slow-body')
      if (found !== undefined || Date.now() > deadline) return found
      await sleep(20)
    }
  }
  const access = await line()
  if (body.status === 408) {
    t.equal(access?.status, 408, 'logged as the 408 its caller got')
  } else {
    t.equal(access?.status, 499, 'logged as a caller that went away')
  }

  t.equal(s.emu.stats().invocationHeaders.length, 0, 'nothing reached the upstream')
  const ok = await s.invoke('fraud-model', { inputs: [3] })
  t.equal(ok.status, 200, 'the gateway still serves')
  t.same(ok.json(), { predictions: [3] })
})
