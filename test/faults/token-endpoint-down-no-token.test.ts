import t from 'tap'
import { fakeClock, startStack } from '../helpers/stack.js'

t.test('token endpoint down with no token: 503 TOKEN_UNAVAILABLE at once, with a handful of fetches in all', async t => {
  // The fake clock drives the backoff: 40 requests 50 ms apart are 2 s of traffic, however
  // slow the machine.
  const clock = fakeClock()
  const s = await startStack(t, { now: clock.now })
  s.emu.faults.token({ down: true })
  const results = []
  const fetched: boolean[] = []
  for (let i = 0; i < 40; i++) {
    const before = s.emu.stats().tokenRequests
    results.push(await s.invoke('fraud-model', { inputs: [i] }))
    fetched.push(s.emu.stats().tokenRequests > before)
    clock.advance(50)
  }
  t.same(results.map(r => r.status), Array(40).fill(503))
  t.same(new Set(results.map(r => r.json().error_code)), new Set(['TOKEN_UNAVAILABLE']))
  t.ok(results.every(r => Number(r.headers['retry-after']) >= 1), 'each carries Retry-After')
  const attempts = s.emu.stats().tokenRequests
  t.ok(attempts >= 1 && attempts <= 4, `${attempts} fetch attempts in 2 s`)
  t.equal(fetched.filter(Boolean).length, attempts, 'each attempt started by one request')
  // Server-side durations from the access log: a request that started no fetch answered from
  // memory (about a millisecond). The bound is generous, for a starved machine: what it catches
  // is a request that waited on a timer (the one-second mint slot) or on a doomed fetch.
  const durations = s.logs.filter(l => l.includes('request completed')).map(l => JSON.parse(l).durationMs as number)
  t.equal(durations.length, 40)
  const waited = durations.filter((d, i) => fetched[i] === false && d >= 900)
  t.same(waited, [], 'no request that started no fetch waited')
  t.equal(s.emu.stats().invocations['fraud-model'], undefined, 'nothing reached the data plane')
})
