// The response cache through a real gateway and the emulator on 127.0.0.1 (docs/beyond.md "Cache").
import t from 'tap'
import { request } from 'undici'
import { OTHER_KEY, startStack } from '../helpers/stack.js'

const calls = (s: Awaited<ReturnType<typeof startStack>>, name: string): number =>
  Object.values(s.emu.stats().invocations[name] ?? {}).reduce((a, b) => a + b, 0)

const withCache = (cache: Record<string, unknown> = {}) => ({
  config: (doc: any) => { doc.endpoints[0].cache = { ttlMs: 60_000, ...cache } }
})

t.test('1,000 requests over 10 hot keys reach the endpoint 10 times; answers are the endpoint\'s', async t => {
  const s = await startStack(t, withCache())
  const first = new Map<number, string>()
  const seen: Record<string, number> = {}
  for (let i = 0; i < 1000; i++) {
    const k = i % 10
    const r = await s.invoke('fraud-model', { inputs: [[k]] })
    t.equal(r.status, 200)
    const h = String(r.headers['x-routegate-cache'])
    seen[h] = (seen[h] ?? 0) + 1
    if (!first.has(k)) first.set(k, r.text)
    else if (r.text !== first.get(k)) t.fail(`key ${k}: a hit differs from the stored answer`)
    if (i === 999) t.match(String(r.headers['content-type']), /^application\/json/)
  }
  t.equal(calls(s, 'fraud-model'), 10)
  t.same(seen, { miss: 10, hit: 990 })
  const metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
  t.match(metrics, 'routegate_cache_requests_total{endpoint="fraud-model",result="hit"} 990')
  t.match(metrics, 'routegate_cache_requests_total{endpoint="fraud-model",result="miss"} 10')
  const lines = s.logs.filter(l => l.includes('"request completed"')).map(l => JSON.parse(l))
  t.equal(lines.filter(l => l.cache === 'hit').length, 990, 'the access line says hit')
  t.ok(lines.every(l => l.caller === 'checkout'), 'a hit is still a request of its caller')
})

t.test('50 concurrent misses for one key make 1 upstream call', async t => {
  const s = await startStack(t, withCache())
  // The first answer takes 300 ms, so all 50 arrive while it is in flight.
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', latencyMs: 300, times: 1 })
  const rs = await Promise.all(Array.from({ length: 50 }, async () => await s.invoke('fraud-model', { inputs: [[42]] })))
  t.same(rs.map(r => r.status), Array(50).fill(200))
  t.equal(calls(s, 'fraud-model'), 1)
  t.equal(new Set(rs.map(r => r.text)).size, 1)
  const metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
  t.match(metrics, 'routegate_cache_requests_total{endpoint="fraud-model",result="coalesced"} 49')
})

t.test('a non-200 and a stream are never stored; no-cache bypasses', async t => {
  const s = await startStack(t, withCache())
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', status: 503, times: 1 })
  t.equal((await s.invoke('fraud-model', { inputs: [[1]] })).status, 503)
  const after = await s.invoke('fraud-model', { inputs: [[1]] })
  t.equal(after.status, 200)
  t.equal(after.headers['x-routegate-cache'], 'miss', 'the 503 was not kept')
  t.equal(calls(s, 'fraud-model'), 2)

  const chat = { messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 2 }
  const a = await s.invoke('fraud-model', chat)
  const b = await s.invoke('fraud-model', chat)
  t.match(String(a.headers['content-type']), /text\/event-stream/)
  t.equal(b.headers['x-routegate-cache'], 'miss', 'the stream was not kept')
  t.equal(calls(s, 'fraud-model'), 4)

  const bypass = await s.invoke('fraud-model', { inputs: [[1]] }, { 'cache-control': 'no-cache' })
  t.equal(bypass.headers['x-routegate-cache'], 'bypass')
  t.equal(calls(s, 'fraud-model'), 5)
  t.equal((await s.invoke('fraud-model', { inputs: [[1]] })).headers['x-routegate-cache'], 'hit')
  t.equal(calls(s, 'fraud-model'), 5)
})

t.test('perCaller keeps callers apart; without it they share', async t => {
  for (const perCaller of [true, false]) {
    const s = await startStack(t, { config: (doc: any) => { doc.endpoints[1].cache = { perCaller } } })
    const asOther = async (): Promise<string> => {
      const r = await request(`${s.gatewayUrl}/serving-endpoints/feed-ads/invocations`, {
        method: 'POST', headers: { authorization: `Bearer ${OTHER_KEY}`, 'content-type': 'application/json' }, body: '{"inputs":[[7]]}'
      })
      await r.body.text()
      return String(r.headers['x-routegate-cache'])
    }
    t.equal((await s.invoke('feed-ads', { inputs: [[7]] })).headers['x-routegate-cache'], 'miss')
    t.equal(await asOther(), perCaller ? 'miss' : 'hit', `perCaller ${String(perCaller)}`)
    t.equal(await asOther(), 'hit')
    t.equal(calls(s, 'feed-ads'), perCaller ? 2 : 1)
  }
})

t.test('a caller not allowed the endpoint gets 403, not a cached answer', async t => {
  const s = await startStack(t, withCache())
  await s.invoke('fraud-model', { inputs: [[1]] })
  const r = await request(`${s.gatewayUrl}/serving-endpoints/fraud-model/invocations`, {
    method: 'POST', headers: { authorization: `Bearer ${OTHER_KEY}`, 'content-type': 'application/json' }, body: '{"inputs":[[1]]}'
  })
  t.equal(r.statusCode, 403)
  t.equal(r.headers['x-routegate-cache'], undefined)
  await r.body.text()
})
