// Fallback through a real gateway and the emulator on 127.0.0.1 (docs/beyond.md "Fallback").
import t from 'tap'
import { request } from 'undici'
import { startStack } from '../helpers/stack.js'

type S = Awaited<ReturnType<typeof startStack>>
const calls = (s: S, name: string): number => Object.values(s.emu.stats().invocations[name] ?? {}).reduce((a, b) => a + b, 0)
const lastLine = (s: S): any => JSON.parse(s.logs.filter(l => l.includes('"request completed"')).at(-1) as string)
const withFallback = { config: (doc: any) => { doc.endpoints[0].fallback = ['feed-ads'] } }

t.test('the primary answering 503 before any byte: answered by the fallback, once', async t => {
  const s = await startStack(t, withFallback)
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', status: 503 })
  const r = await s.invoke('fraud-model', { inputs: [[1]] })
  t.equal(r.status, 200)
  t.equal(calls(s, 'fraud-model'), 1)
  t.equal(calls(s, 'feed-ads'), 1)
  t.match(lastLine(s), { endpoint: 'fraud-model', fallback: 'feed-ads', status: 200 })
  const metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
  t.match(metrics, 'routegate_fallbacks_total{endpoint="fraud-model",to="feed-ads"} 1')
  // The fallback answered with its own token: the emulator checks its scope (403 otherwise).
  t.same(s.emu.stats().invocations['feed-ads'], { 200: 1 })
})

t.test('the primary answering 429: fallback; the fallback failing too: its answer, not a loop', async t => {
  const s = await startStack(t, withFallback)
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', status: 429 })
  s.emu.faults.dataPlane({ endpoint: 'feed-ads', status: 503 })
  const r = await s.invoke('fraud-model', { inputs: [[1]] })
  t.equal(r.status, 503, 'the last endpoint\'s answer')
  t.equal(calls(s, 'fraud-model'), 1)
  t.equal(calls(s, 'feed-ads'), 1)
})

t.test('the primary down (nothing listening): answered by the fallback', async t => {
  const s = await startStack(t, {
    config: (doc: any) => {
      doc.endpoints[0].fallback = ['feed-ads']
      // A port nobody listens on: connect refused.
      doc.endpoints[0].url = 'http://127.0.0.1:9/serving-endpoints/fraud-model/invocations'
    }
  })
  const r = await s.invoke('fraud-model', { inputs: [[1]] })
  t.equal(r.status, 200)
  t.equal(calls(s, 'feed-ads'), 1)
  t.match(lastLine(s), { fallback: 'feed-ads' })
})

t.test('the primary refusing tokens (no token): answered by the fallback', async t => {
  const s = await startStack(t, {
    config: (doc: any) => {
      doc.endpoints[0].fallback = ['feed-ads']
      doc.workspaces.push({ ...doc.workspaces[0], name: 'broken', clientSecret: 'wrong-secret-value' })
      doc.endpoints[0].workspace = 'broken'
    }
  })
  const r = await s.invoke('fraud-model', { inputs: [[1]] })
  t.equal(r.status, 200)
  t.equal(calls(s, 'fraud-model'), 0)
  t.equal(calls(s, 'feed-ads'), 1)
})

t.test('a 503 after the first byte is not retried; 500 is not a fallback case', async t => {
  const s = await startStack(t, withFallback)
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', status: 500, times: 1 })
  t.equal((await s.invoke('fraud-model', { inputs: [[1]] })).status, 500)
  t.equal(calls(s, 'feed-ads'), 0)
  // A stream cut after its headers went out: the caller has bytes, nothing is re-sent.
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', resetAfterChunks: 1, times: 1 })
  const r = await request(`${s.gatewayUrl}/serving-endpoints/fraud-model/invocations`, {
    method: 'POST',
    headers: { authorization: 'Bearer rgk_test_caller_key_0123456789abcdef', 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 3 })
  })
  t.equal(r.statusCode, 200)
  await r.body.text().catch(() => '')
  t.equal(calls(s, 'feed-ads'), 0)
})

t.test('a fallback the caller may not use is skipped', async t => {
  const s = await startStack(t, {
    config: (doc: any) => {
      doc.endpoints[1].fallback = ['fraud-model'] // reports may use only feed-ads
    }
  })
  s.emu.faults.dataPlane({ endpoint: 'feed-ads', status: 503 })
  const r = await request(`${s.gatewayUrl}/serving-endpoints/feed-ads/invocations`, {
    method: 'POST', headers: { authorization: 'Bearer rgk_test_other_key_fedcba9876543210', 'content-type': 'application/json' }, body: '{"inputs":[[1]]}'
  })
  await r.body.text()
  t.equal(r.statusCode, 503)
  t.equal(calls(s, 'fraud-model'), 0)
})
