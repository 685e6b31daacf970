import t from 'tap'
import { fakeClock, startStack } from '../helpers/stack.js'

t.test('steady traffic over several short token lifetimes never sees a 401', async t => {
  const ttl = 3
  // One clock for the emulator (token expiry) and the gateway (refresh): it moves 25 ms per
  // request, so the run covers four lifetimes whatever the machine's speed.
  const clock = fakeClock()
  const s = await startStack(t, { now: clock.now, emulator: { tokenTtlSeconds: ttl } })
  const statuses = new Map<number, number>()
  const runMs = 4 * ttl * 1000
  for (let elapsed = 0; elapsed < runMs; elapsed += 25) {
    const r = await s.invoke('fraud-model', { inputs: [1] })
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
    clock.advance(25)
  }
  t.same([...statuses.keys()], [200], `all 200 (${JSON.stringify([...statuses])})`)
  // A token is refreshed once half its lifetime is left: one mint per 1.5 s here, plus the first.
  const mints = s.emu.mintsFor('fraud-model')
  const perStaleWindow = runMs / (ttl * 1000 / 2)
  t.ok(mints >= perStaleWindow - 1 && mints <= perStaleWindow + 2, `mints ${mints} ≈ ${perStaleWindow}`)
  t.equal(s.emu.stats().invocations['fraud-model']?.['401'], undefined, 'the upstream never refused a token')
})
