// Streams done honestly and usage counted: a stream that breaks upstream ends in an SSE error
// event and an abort (never a clean end), an idle stream is cut by the idle timeout while a live
// one runs past it, OpenAI answers' `usage` reaches the access log and the token metric, and
// Databricks' error bodies pass through unchanged.
import t from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { startStack, CALLER_KEY, type Stack, type Teardown } from '../helpers/stack.js'
import { waitFor } from '../helpers/wait.js'

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
  await waitFor(() => s.logs.filter(l => l.includes('request completed')).length >= n)
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
  t.equal(text, 'data: {"n":1}\n\ndata: {"error":{"message":"connection to the endpoint was reset","type":"api_error","code":"UPSTREAM_UNAVAILABLE"}}\n\n')
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

t.test('Databricks\' error bodies, both forms, pass through unchanged on both routes', async t => {
  const s = await startStack(t)
  const cases = [
    { fault: { status: 400, errorCode: 'BAD_REQUEST', message: 'Model input is invalid.' }, body: { error_code: 'BAD_REQUEST', message: 'Model input is invalid.' }, phrase: undefined },
    { fault: { status: 400, errorForm: 'numeric' as const, message: 'Model input is invalid.' }, body: { error_code: 400, message: 'Model input is invalid.' }, phrase: 'Model input is invalid.' },
    { fault: { status: 429, errorForm: 'numeric' as const, reasonPhrase: 'Too Many Requests', retryAfter: '2' }, body: { error_code: 429, message: 'Injected fault' }, phrase: 'Too Many Requests' }
  ]
  for (const c of cases) {
    for (const path of ['/serving-endpoints/fraud-model/invocations', '/serving-endpoints/chat/completions']) {
      s.emu.faults.dataPlane({ endpoint: 'fraud-model', ...c.fault, times: 1 })
      const res = await post(s, path, { model: 'fraud-model', messages: [{ role: 'user', content: 'x' }] })
      const label = `${c.fault.status} ${c.fault.errorForm ?? 'string'} via ${path}`
      t.equal(res.statusCode, c.fault.status, label)
      t.same(await res.body.json(), c.body, `${label}: body unchanged`)
      t.equal(res.headers['x-databricks-reason-phrase'], c.phrase, `${label}: reason phrase`)
      if (c.fault.retryAfter !== undefined) t.equal(res.headers['retry-after'], c.fault.retryAfter, `${label}: Retry-After`)
    }
  }
})

t.test('a caller that stops reading is cut after the idle timeout: the upstream request is cancelled, not held', async t => {
  const upstreamSide = { closed: false }
  const url = await upstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const event = `data: ${'s'.repeat(1016)}\n\n`
    const pump = (): void => {
      while (!res.destroyed) {
        if (!res.write(event)) { res.once('drain', pump); return }
      }
    }
    res.on('close', () => { upstreamSide.closed = true })
    pump()
  })
  const s = await stackWith(t, url, 400)
  const res = await post(s, '/v1/chat/completions', { model: 'fraud-model', messages: [], stream: true })
  t.equal(res.statusCode, 200)
  // Read one chunk, then stop reading without going away.
  await new Promise<void>(resolve => res.body.once('data', () => { res.body.pause(); resolve() }))
  const poolKey = s.rg.registry.peek('fraud-model')?.poolKey ?? ''
  t.equal(s.rg.pools.stats(poolKey)?.running, 1, 'the stream holds a pool connection while the caller reads nothing')
  await waitFor(() => (s.rg.pools.stats(poolKey)?.running ?? 0) === 0, { intervalMs: 20 })
  t.equal(s.rg.pools.stats(poolKey)?.running, 0, 'freed after the idle timeout')
  await waitFor(() => upstreamSide.closed, { intervalMs: 20 })
  t.ok(upstreamSide.closed, 'the upstream saw its request cancelled')
  res.body.destroy()
  t.match(await accessLine(s), { status: 499, aborted: 'client_stalled' })
  t.match(await metrics(s), /routegate_aborted_responses_total\{endpoint="fraud-model",cause="client_stalled"\} 1\n/)
})

t.test('the OpenAI routes ask the endpoint for an uncoded answer, and a coded stream is cut without a plain-text event', async t => {
  const seen: Array<string | undefined> = []
  const url = await upstream(t, (req, res) => {
    seen.push(req.headers['accept-encoding'])
    res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' })
    res.write(Buffer.from([0x1f, 0x8b, 0x08, 0x00]))
    setTimeout(() => { res.socket?.destroy() }, 50)
  })
  const s = await stackWith(t, url)
  const res = await request(`${s.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json', 'accept-encoding': 'gzip, br' },
    body: JSON.stringify({ model: 'fraud-model', messages: [], stream: true })
  })
  const bytes: Buffer[] = []
  const outcome = await (async () => {
    try {
      for await (const c of res.body) bytes.push(c)
      return 'clean end'
    } catch {
      return 'aborted'
    }
  })()
  t.same(seen, ['identity'], 'Accept-Encoding: identity upstream')
  t.equal(outcome, 'aborted')
  t.notMatch(Buffer.concat(bytes).toString('latin1'), /data: \{"error"/, 'no plain-text event inside a gzip body')
})
