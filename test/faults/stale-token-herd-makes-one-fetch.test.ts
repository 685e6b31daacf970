import t from 'tap'
import { fakeClock, startStack } from '../helpers/stack.js'
import { waitFor } from '../helpers/wait.js'

t.test('200 concurrent requests at the moment a token goes stale cause exactly one fetch', async t => {
  const clock = fakeClock()
  const s = await startStack(t, { now: clock.now })
  t.equal((await s.invoke('fraud-model', { inputs: [1] })).status, 200)
  t.equal(s.emu.stats().tokenRequests, 1)
  clock.advance(40 * 60_000 + 1)
  s.emu.faults.token({ latencyMs: 100 })
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => s.invoke('fraud-model', { inputs: [i] })))
  t.same(results.map(r => r.status), Array(200).fill(200))
  await waitFor(() => s.emu.stats().tokenRequests >= 2)
  await new Promise(resolve => setTimeout(resolve, 150))
  t.equal(s.emu.stats().tokenRequests, 2, 'exactly one refresh')
})

t.test('Retry-After on a 429 from the token endpoint is honoured', async t => {
  const clock = fakeClock()
  const s = await startStack(t, { now: clock.now })
  s.emu.faults.token({ status: 429, error: 'rate_limited', retryAfter: '20' })
  const first = await s.invoke('fraud-model', { inputs: [1] })
  t.equal(first.status, 503)
  t.equal(first.headers['retry-after'], '20')
  clock.advance(19_000)
  t.equal((await s.invoke('fraud-model', { inputs: [1] })).status, 503)
  t.equal(s.emu.stats().tokenRequests, 1, 'no fetch before Retry-After passed')
  s.emu.faults.clear()
  clock.advance(1_000)
  t.equal((await s.invoke('fraud-model', { inputs: [1] })).status, 200)
  t.equal(s.emu.stats().tokenRequests, 2)
})
