import t from 'tap'
import { fakeClock, startStack } from '../helpers/stack.js'

t.test('token endpoint down for 10 s under steady traffic with a valid token held: zero failed requests', async t => {
  const clock = fakeClock()
  const s = await startStack(t, { now: clock.now })
  t.equal((await s.invoke('fraud-model', { inputs: [1] })).status, 200)
  // Into the stale window (less than 20 min of the hour left), then the token endpoint goes down.
  clock.advance(41 * 60_000)
  s.emu.faults.token({ down: true })
  const before = s.emu.stats().tokenRequests
  const statuses: number[] = []
  for (let i = 0; i < 100; i++) { // 10 s of traffic at 10 requests/s, in virtual time
    statuses.push((await s.invoke('fraud-model', { inputs: [i] })).status)
    clock.advance(100)
  }
  t.same(statuses, Array(100).fill(200), 'every request served with the still-valid token')
  const attempts = s.emu.stats().tokenRequests - before
  t.ok(attempts >= 2 && attempts <= 6, `refresh attempts backed off: ${attempts} in 10 s`)
  t.equal(s.emu.stats().invocations['fraud-model']?.['401'], undefined)

  s.emu.faults.clear()
  // Traffic goes on; the next refresh after the backoff succeeds.
  for (let i = 0; i < 100 && s.emu.mintsFor('fraud-model') < 2; i++) {
    t.equal((await s.invoke('fraud-model', { inputs: [1] })).status, 200)
    clock.advance(1000)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  t.equal(s.emu.mintsFor('fraud-model'), 2, `refreshed once the endpoint is back ${JSON.stringify(s.emu.stats().mints)} ${s.emu.stats().tokenRequests}`)
  t.ok(s.logs.some(l => l.includes('token endpoint recovered')))
})
