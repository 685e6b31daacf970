import t from 'tap'
import { startStack, sleep } from '../helpers/stack.js'

t.test('token endpoint down with no token: 503 TOKEN_UNAVAILABLE at once, with a handful of fetches in all', async t => {
  const s = await startStack(t)
  s.emu.faults.token({ down: true })
  const results = []
  for (let i = 0; i < 40; i++) { // 2 s of traffic
    results.push(await s.invoke('fraud-model', { inputs: [i] }))
    await sleep(50)
  }
  t.same(results.map(r => r.status), Array(40).fill(503))
  t.same(new Set(results.map(r => r.json().error_code)), new Set(['TOKEN_UNAVAILABLE']))
  t.ok(results.every(r => Number(r.headers['retry-after']) >= 1), 'each carries Retry-After')
  const attempts = s.emu.stats().tokenRequests
  t.ok(attempts >= 1 && attempts <= 4, `${attempts} fetch attempts in 2 s`)
  // Server-side durations from the access log: no request waited on a doomed fetch.
  const durations = s.logs.filter(l => l.includes('request completed')).map(l => JSON.parse(l).durationMs as number)
  t.equal(durations.length, 40)
  // Only a request that itself started a fetch may wait for it; every other one fails fast.
  const slow = durations.filter(d => d >= 100).length
  t.ok(slow <= attempts, `${slow} of 40 took 100 ms or more, at most one per fetch attempt (${attempts})`)
  t.equal(s.emu.stats().invocations['fraud-model'], undefined, 'nothing reached the data plane')
})
