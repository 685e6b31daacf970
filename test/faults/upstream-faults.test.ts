import t from 'tap'
import * as http from 'node:http'
import { PassThrough } from 'node:stream'
import { request } from 'undici'
import { startStack, CALLER_KEY, sleep, freePort } from '../helpers/stack.js'

t.test('a reset after the request was sent is not retried: one attempt, 502', async t => {
  const s = await startStack(t)
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', reset: true, times: 1 })
  const r = await s.invoke('fraud-model', { inputs: [1] })
  t.equal(r.status, 502)
  t.equal(r.json().error_code, 'UPSTREAM_UNAVAILABLE')
  t.equal(s.emu.stats().invocations['fraud-model']?.reset, 1)
  t.equal(Object.values(s.emu.stats().invocations['fraud-model'] ?? {}).reduce((a, b) => a + b, 0), 1, 'exactly one attempt reached the endpoint')
})

t.test('a refused connection is retried once; repeated failures open the circuit, which fails fast, probes and closes', async t => {
  const port = await freePort()
  const s = await startStack(t, {
    config: (doc) => {
      doc.log.level = 'debug'
      doc.endpoints.push({ name: 'flaky', workspace: 'emu', url: `http://127.0.0.1:${port}/1/serving-endpoints/flaky/invocations`, endpointId: doc.endpoints[0]!.endpointId as string, breakerFailures: 4, breakerOpenMs: 400 })
    }
  })
  const first = await s.invoke('flaky', { inputs: [1] })
  t.equal(first.status, 502)
  t.match(first.json().message, /refused/)
  t.equal(s.logs.filter(l => l.includes('retrying once on a new connection')).length, 1, 'retried once')
  await s.invoke('flaky', { inputs: [1] }) // failures 3 and 4: the circuit opens
  const fast = await s.invoke('flaky', { inputs: [1] })
  t.equal(fast.status, 502)
  t.match(fast.json().message, /circuit open/)
  t.ok(Number(fast.headers['retry-after']) >= 1)
  let metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
  t.match(metrics, /routegate_upstream_circuit_open\{endpoint="flaky"\} 1/)
  t.equal(s.logs.filter(l => l.includes('retrying once on a new connection')).length, 2, 'no attempt while open')

  // The endpoint comes back: after openMs one probe goes through and closes the circuit.
  const srv = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('{"predictions":[1]}')) })
  await new Promise<void>(resolve => srv.listen(port, '127.0.0.1', resolve))
  t.teardown(() => srv.close())
  await sleep(450)
  const probe = await s.invoke('flaky', { inputs: [1] })
  t.equal(probe.status, 200)
  metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
  t.match(metrics, /routegate_upstream_circuit_open\{endpoint="flaky"\} 0/)
  t.equal((await s.invoke('flaky', { inputs: [1] })).status, 200)
})

async function streamChat (gatewayUrl: string, name: string, chunks: number): Promise<{ complete: boolean, text: string }> {
  const res = await request(`${gatewayUrl}/serving-endpoints/${name}/invocations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: chunks })
  })
  let text = ''
  try {
    for await (const chunk of res.body) text += chunk.toString()
    return { complete: text.includes('data: [DONE]'), text }
  } catch {
    return { complete: false, text }
  }
}

// undici's body timer ticks about once a second, so these use second-scale gaps.
t.test('a live stream longer than the idle timeout is not cut (no total cap)', async t => {
  const s = await startStack(t, { emulator: { streamIntervalMs: 300 }, config: (doc) => { doc.endpoints[0]!.idleTimeoutMs = 1500 } })
  const long = await streamChat(s.gatewayUrl, 'fraud-model', 8) // ~2.4 s in all, 0.3 s gaps
  t.ok(long.complete, 'completes')
})

t.test('a stream that goes silent longer than the idle timeout is cut', async t => {
  const s = await startStack(t, { emulator: { streamIntervalMs: 3000 }, config: (doc) => { doc.endpoints[0]!.idleTimeoutMs = 1000 } })
  const silent = await streamChat(s.gatewayUrl, 'fraud-model', 2)
  t.notOk(silent.complete, 'cut before [DONE]')
})

t.test('a 401 on a streamed (unbuffered) body is not replayed: the caller gets the 401', async t => {
  const s = await startStack(t, { config: (doc) => { doc.server.replayBufferBytes = 0 } })
  t.equal((await s.invoke('fraud-model', { inputs: [1] })).status, 200)
  s.emu.revoke({ endpoint: 'fraud-model' })
  const body = new PassThrough()
  const pending = request(`${s.gatewayUrl}/serving-endpoints/fraud-model/invocations`, {
    method: 'POST', headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' }, body
  })
  body.end('{"inputs":[1]}')
  const res = await pending
  t.equal(res.statusCode, 401)
  t.equal((await res.body.json() as any).error_code, 'UNAUTHENTICATED')
  t.equal(s.emu.stats().invocations['fraud-model']?.['401'], 1)
  t.equal((await s.invoke('fraud-model', { inputs: [1] })).status, 200, 'the next request has a fresh token')
})
