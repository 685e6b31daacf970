import t from 'tap'
import { startStack } from '../helpers/stack.js'

t.test('100 sequential requests cause one token mint', async t => {
  const s = await startStack(t)
  for (let i = 0; i < 100; i++) {
    const r = await s.invoke('fraud-model', { instances: [[i]] })
    t.equal(r.status, 200)
  }
  t.equal(s.emu.mintsFor('fraud-model'), 1)
  t.equal(s.emu.stats().tokenRequests, 1)
  t.equal(s.emu.stats().invocations['fraud-model']?.['200'], 100)
})

t.test('100 concurrent cold requests cause one mint per endpoint', async t => {
  const s = await startStack(t, { emulator: { endpoints: [{ name: 'fraud-model' }, { name: 'feed-ads' }] } })
  // Slow the token endpoint so every request arrives while the first mint is in flight.
  s.emu.faults.token({ latencyMs: 200 })
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => s.invoke(i % 2 === 0 ? 'fraud-model' : 'feed-ads', { inputs: [i] })))
  t.same(results.map(r => r.status), Array(100).fill(200))
  t.equal(s.emu.mintsFor('fraud-model'), 1)
  t.equal(s.emu.mintsFor('feed-ads'), 1)
  t.equal(s.emu.stats().tokenRequests, 2)
})
