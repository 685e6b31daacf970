import t from 'tap'
import { PassThrough } from 'node:stream'
import { request } from 'undici'
import { startStack, CALLER_KEY, sleep } from '../helpers/stack.js'
import { waitFor } from '../helpers/wait.js'

t.test('server-sent events reach the caller chunk by chunk, not buffered', async t => {
  const s = await startStack(t, { emulator: { streamIntervalMs: 60 } })
  const started = performance.now()
  const res = await request(`${s.gatewayUrl}/serving-endpoints/fraud-model/invocations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 8 })
  })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/event-stream/)
  const arrivals: number[] = []
  let text = ''
  for await (const chunk of res.body) {
    arrivals.push(performance.now() - started)
    text += chunk.toString()
  }
  const events = text.split('\n\n').filter(e => e.startsWith('data: '))
  t.equal(events.length, 9, 'eight chunks and [DONE]')
  t.equal(events.at(-1), 'data: [DONE]')
  // The emulator spaces chunks 60 ms apart: a buffering proxy would deliver them all at once.
  t.ok(arrivals.length >= 4, `arrived in ${arrivals.length} reads`)
  t.ok((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0) >= 200, 'first data arrived well before the last')
  await waitFor(() => s.logs.some(l => l.includes('request completed')))
  const access = JSON.parse(s.logs.find(l => l.includes('request completed')) ?? '{}')
  t.equal(access.bytesOut, Buffer.byteLength(text), 'the access line counts the streamed body bytes')
  t.equal(access.status, 200)
})

t.test('a chunked request body is streamed upstream intact', async t => {
  const s = await startStack(t)
  const body = new PassThrough()
  const pending = request(`${s.gatewayUrl}/serving-endpoints/feed-ads/invocations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' },
    body
  })
  const rows = Array.from({ length: 200 }, (_, i) => ({ x: i }))
  const json = JSON.stringify({ dataframe_records: rows })
  for (let i = 0; i < json.length; i += 500) {
    body.write(json.slice(i, i + 500))
    await sleep(1)
  }
  body.end()
  const res = await pending
  t.equal(res.statusCode, 200)
  const out = await res.body.json() as { predictions: number[] }
  t.same(out.predictions, rows.map(r => r.x))
  t.equal(s.emu.stats().lastInvocation?.body, json, 'the upstream received the body byte for byte')
})

t.test('the caller going away cancels the upstream request', async t => {
  const s = await startStack(t)
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', hang: true })
  const ac = new AbortController()
  const pending = request(`${s.gatewayUrl}/serving-endpoints/fraud-model/invocations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' },
    body: '{"inputs":[1]}',
    signal: ac.signal
  }).catch(e => e)
  await sleep(200)
  const poolKey = s.rg.registry.peek('fraud-model')?.poolKey ?? ''
  t.equal(s.rg.pools.stats(poolKey)?.running, 1, 'upstream request in flight')
  ac.abort()
  await pending
  await waitFor(() => (s.rg.pools.stats(poolKey)?.running ?? 0) === 0, { intervalMs: 20 })
  t.equal(s.rg.pools.stats(poolKey)?.running, 0, 'upstream request cancelled')
  const metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
  t.match(metrics, /routegate_requests_total\{endpoint="fraud-model",code="499"\} 1/)
})
