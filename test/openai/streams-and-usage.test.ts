// Streams done honestly and usage counted: a stream that breaks upstream ends in an SSE error
// event and an abort (never a clean end), an idle stream is cut by the idle timeout while a live
// one runs past it, and OpenAI answers' `usage` reaches the access log and the token metric.
import t from 'tap'
import { Readable } from 'node:stream'
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { startStack, CALLER_KEY, sleep, type Stack, type Teardown } from '../helpers/stack.js'

/** A data plane of our own for fraud-model (tokens still come from the emulator). */
async function upstream (t: Teardown, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/ws/serving-endpoints/fraud-model/invocations`
}

async function stackWith (t: Teardown, url: string, idleTimeoutMs?: number): Promise<Stack> {
  return await startStack(t, {
    config: (doc) => {
      const e = doc.endpoints.find(e => e.name === 'fraud-model') as Record<string, unknown>
      e.url = url
      if (idleTimeoutMs !== undefined) e.idleTimeoutMs = idleTimeoutMs
    }
  })
}

async function metrics (s: Stack): Promise<string> {
  return await (await request(`${s.adminUrl}/metrics`)).body.text()
}

async function accessLine (s: Stack, n = 1): Promise<Record<string, any>> {
  for (let i = 0; i < 100 && s.logs.filter(l => l.includes('request completed')).length < n; i++) await sleep(10)
  return JSON.parse(s.logs.filter(l => l.includes('request completed'))[n - 1] ?? '{}')
}

const post = async (s: Stack, path: string, body: unknown): Promise<Awaited<ReturnType<typeof request>>> => await request(`${s.gatewayUrl}${path}`, {
  method: 'POST',
  headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' },
  body: JSON.stringify(body)
})

t.test('usage of OpenAI answers goes to the access log and routegate_model_tokens_total; /invocations reads none', async t => {
  const s = await startStack(t)
  const res = await post(s, '/v1/chat/completions', { model: 'fraud-model', messages: [{ role: 'user', content: 'one two three' }], max_tokens: 4 })
  t.equal(res.statusCode, 200)
  const answer = await res.body.json() as { usage: { prompt_tokens: number, completion_tokens: number } }
  t.same(answer.usage, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 })
  const line = await accessLine(s)
  t.match(line, { route: 'chat/completions', caller: 'checkout', endpoint: 'fraud-model', promptTokens: 3, completionTokens: 4 })
  const text = await metrics(s)
  t.match(text, /routegate_model_tokens_total\{caller="checkout",endpoint="fraud-model",kind="prompt"\} 3\n/)
  t.match(text, /routegate_model_tokens_total\{caller="checkout",endpoint="fraud-model",kind="completion"\} 4\n/)
  t.match(text, /routegate_caller_requests_total\{caller="checkout",code="200"\} 1\n/)

  // The same answer through the invocation route: passed through, never parsed.
  const direct = await post(s, '/serving-endpoints/fraud-model/invocations', { messages: [{ role: 'user', content: 'one two three' }], max_tokens: 4 })
  t.equal(direct.statusCode, 200)
  await direct.body.dump()
  const second = await accessLine(s, 2)
  t.equal(second.promptTokens, undefined, 'no usage read on /invocations')
  t.equal(second.route, undefined)
  t.match(await metrics(s), /kind="prompt"\} 3\n/, 'the token counter did not move')
})

t.test('usage in the last chunk of a stream (include_usage) is counted too', async t => {
  const url = await upstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: {"choices":[{"delta":{"content":"a"}}]}\n\n')
    res.write('data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":22,"total_tokens":33}}\n\n')
    res.end('data: [DONE]\n\n')
  })
  const s = await stackWith(t, url)
  const res = await post(s, '/serving-endpoints/chat/completions', { model: 'fraud-model', messages: [], stream: true, stream_options: { include_usage: true } })
  t.equal(res.headers['x-accel-buffering'], 'no', 'proxies in front are told not to buffer the stream')
  t.equal(res.headers['content-encoding'], undefined, 'the gateway does not compress')
  await res.body.text()
  t.match(await accessLine(s), { promptTokens: 11, completionTokens: 22 })
})

t.test('an upstream failure mid-stream: an SSE error event, then an abort; counted as 502 and cause=upstream', async t => {
  const url = await upstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: {"n":1}\n\n')
    res.write('data: {"n":2')
    setTimeout(() => { res.socket?.destroy() }, 50)
  })
  const s = await stackWith(t, url)
  const res = await post(s, '/v1/chat/completions', { model: 'fraud-model', messages: [], stream: true })
  t.equal(res.statusCode, 200)
  let text = ''
  const ended = await (async () => {
    try {
      for await (const chunk of res.body) text += chunk.toString()
      return 'clean end'
    } catch (err) {
      return 'aborted'
    }
  })()
  t.equal(ended, 'aborted', 'the caller sees the response break off, never a clean end')
  t.equal(text, 'data: {"n":1}\n\ndata: {"n":2\n\ndata: {"error":{"message":"connection to the endpoint was reset","type":"api_error","code":"UPSTREAM_UNAVAILABLE"}}\n\n')
  const line = await accessLine(s)
  t.match(line, { status: 502, error_code: 'UPSTREAM_UNAVAILABLE', aborted: 'upstream' })
  const m = await metrics(s)
  t.match(m, /routegate_aborted_responses_total\{endpoint="fraud-model",cause="upstream"\} 1\n/)
  t.match(m, /routegate_requests_total\{endpoint="fraud-model",code="502"\} 1\n/)
})

t.test('the idle timeout cuts a stalled stream, but never a live one that runs past it', async t => {
  let stall = false
  const url = await upstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    let n = 0
    const tick = setInterval(() => {
      if (res.destroyed) { clearInterval(tick); return }
      if (stall && n === 1) return
      res.write(`data: {"n":${n++}}\n\n`)
      if (n === 12) { clearInterval(tick); res.end('data: [DONE]\n\n') }
    }, 60)
  })
  const s = await stackWith(t, url, 400)
  const started = Date.now()
  const live = await post(s, '/v1/chat/completions', { model: 'fraud-model', messages: [], stream: true })
  const text = await live.body.text()
  t.ok(Date.now() - started >= 600, 'the live stream ran longer than the idle timeout')
  t.ok(text.endsWith('data: [DONE]\n\n'), 'and finished whole')
  stall = true
  const stalled = await post(s, '/v1/chat/completions', { model: 'fraud-model', messages: [], stream: true })
  const outcome = await stalled.body.text().then(() => 'clean end', () => 'aborted')
  t.equal(outcome, 'aborted')
  t.match(await accessLine(s, 2), { status: 502, error_code: 'UPSTREAM_UNAVAILABLE', aborted: 'idle_timeout' })
  t.match(await metrics(s), /routegate_aborted_responses_total\{endpoint="fraud-model",cause="idle_timeout"\} 1\n/)
})

const MB10 = 10 * 1024 * 1024

t.test('10 MB up and 10 MB of stream down pass intact, without the gateway holding them', async t => {
  let received = ''
  const url = await upstream(t, (req, res) => {
    const hash = createHash('sha256')
    req.on('data', (c: Buffer) => hash.update(c))
    req.on('end', () => {
      received = hash.digest('hex')
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      // 10 MiB of events, written with backpressure.
      const event = Buffer.from(`data: ${'z'.repeat(1016)}\n\n`) // 1 KiB
      let left = MB10 / event.length
      const pump = (): void => {
        while (left > 0) {
          left--
          if (!res.write(event)) { res.once('drain', pump); return }
        }
        res.end()
      }
      pump()
    })
  })
  const s = await stackWith(t, url)

  // The test's own 10 MiB is allocated once, before any measurement.
  const up = Buffer.alloc(MB10, 'q')
  const sent = createHash('sha256').update(up).digest('hex')
  async function roundTrip (): Promise<{ sent: string, got: string, bytes: number, peakRss: number }> {
    let peakRss = process.memoryUsage().rss
    const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 5)
    const res = await request(`${s.gatewayUrl}/serving-endpoints/fraud-model/invocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/octet-stream' },
      body: Readable.from((function * () { for (let i = 0; i < up.length; i += 64 * 1024) yield up.subarray(i, i + 64 * 1024) })())
    })
    const hash = createHash('sha256')
    let bytes = 0
    for await (const chunk of res.body) {
      hash.update(chunk)
      bytes += chunk.length
    }
    clearInterval(sampler)
    return { sent, got: hash.digest('hex'), bytes, peakRss }
  }
  await roundTrip() // warm up: pools, buffers, JIT
  global.gc?.()
  const before = process.memoryUsage().rss
  const r = await roundTrip()
  t.equal(received, r.sent, 'the upstream got the 10 MiB request byte for byte')
  t.equal(r.bytes, MB10, 'the caller got all 10 MiB of the stream')
  t.equal(r.got, createHash('sha256').update(Buffer.from(`data: ${'z'.repeat(1016)}\n\n`.repeat(MB10 / 1024))).digest('hex'), 'intact')
  const growth = r.peakRss - before
  // Streaming holds a few 64 KiB chunks at a time (plus the young generation's churn, in this
  // one process with the client and the upstream); buffering a body would add its 10 MiB.
  t.ok(growth < MB10, `RSS grew ${(growth / 1048576).toFixed(1)} MiB during 20 MiB of traffic (less than either body)`)
})
