// The bucket arithmetic every limit uses (in process and, as Lua, in the store).
import t from 'tap'
import { bucketsFor, decide, levelAt, msToFull, type BucketSpec, type BucketState } from '../../src/limits/buckets.js'
import { createLocalLimiter } from '../../src/limits/local.js'

t.test('bucketsFor: one bucket per configured window; token windows only with a reservation', async t => {
  t.same(bucketsFor('caller', 'c', undefined, 10), [])
  const specs = bucketsFor('caller', 'c', { requestsPerSecond: 20, burst: 30, requestsPerMinute: 600, tokensPerMinute: 6000, tokensPerDay: 86_400_000 }, undefined)
  t.same(specs.map(s => [s.key, s.capacity, s.cost]), [['caller:c:second', 30, 1], ['caller:c:minute', 600, 1]])
  t.equal(specs[0]?.perMs, 0.02)
  t.equal(specs[1]?.perMs, 0.01)
  const withTokens = bucketsFor('endpoint', 'e', { tokensPerMinute: 6000, tokensPerDay: 86_400_000, mode: 'shadow' }, 500)
  t.same(withTokens.map(s => [s.key, s.capacity, s.perMs, s.cost, s.shadow]), [['endpoint:e:tokensMinute', 6000, 0.1, 500, true], ['endpoint:e:tokensDay', 86_400_000, 1, 500, true]])
  t.equal(bucketsFor('caller', 'c', { requestsPerSecond: 2.5 }, undefined)[0]?.capacity, 3, 'burst defaults to ceil(rps)')
  const divided = bucketsFor('caller', 'c', { requestsPerSecond: 30, burst: 30 }, undefined, 3)[0] as BucketSpec
  t.same([divided.capacity, divided.perMs], [10, 0.01], 'spread over 3 replicas')
})

t.test('a bucket starts full, refills continuously, never above capacity', async t => {
  const spec = { capacity: 10, perMs: 0.01 }
  t.equal(levelAt(undefined, spec, 0), 10)
  t.equal(levelAt({ level: 0, at: 0 }, spec, 500), 5)
  t.equal(levelAt({ level: 0, at: 0 }, spec, 5000), 10)
  t.equal(levelAt({ level: 4, at: 100 }, spec, 50), 4, 'a clock that went back refills nothing')
  t.equal(msToFull(spec, 5), 500)
})

t.test('decide: all or nothing over the buckets, with the wait of each that refused', async t => {
  const a: BucketSpec = { key: 'a', scope: 'caller', window: 'second', capacity: 2, perMs: 0.001, cost: 1, shadow: false }
  const b: BucketSpec = { key: 'b', scope: 'endpoint', window: 'second', capacity: 1, perMs: 0.001, cost: 1, shadow: false }
  let states: Array<BucketState | undefined> = [undefined, undefined]
  let d = decide([a, b], states, 0)
  t.ok(d.admitted)
  t.same(d.next, [{ level: 1, at: 0 }, { level: 0, at: 0 }])
  states = d.next
  d = decide([a, b], states, 0)
  t.notOk(d.admitted, 'b is empty')
  t.same(d.next, [undefined, undefined], 'a is not debited when b refuses')
  t.same(d.outcomes.map(o => [o.fits, o.level, o.waitMs]), [[true, 1, 0], [false, 0, 1000]])
})

t.test('decide: a shadow bucket never refuses, and is left alone when it cannot pay', async t => {
  const enforce: BucketSpec = { key: 'e', scope: 'endpoint', window: 'second', capacity: 5, perMs: 0.001, cost: 1, shadow: false }
  const shadow: BucketSpec = { key: 's', scope: 'caller', window: 'second', capacity: 1, perMs: 0.001, cost: 1, shadow: true }
  const d = decide([enforce, shadow], [undefined, { level: 0, at: 0 }], 0)
  t.ok(d.admitted)
  t.same(d.outcomes.map(o => o.fits), [true, false])
  t.same(d.next, [{ level: 4, at: 0 }, undefined])
})

t.test('decide: a cost above capacity needs a full bucket; force debits whatever the level', async t => {
  const tokens: BucketSpec = { key: 't', scope: 'caller', window: 'tokensMinute', capacity: 100, perMs: 0.1, cost: 150, shadow: false }
  let d = decide([tokens], [undefined], 0)
  t.ok(d.admitted, 'a full bucket pays a cost above its capacity')
  t.same(d.next, [{ level: -50, at: 0 }])
  d = decide([tokens], d.next, 1000)
  t.notOk(d.admitted)
  t.equal(d.outcomes[0]?.waitMs, 500, 'until full again: -50 + 100 after 1 s, then 50 more at 0.1/ms')
  d = decide([{ ...tokens, cost: -30 }], [{ level: 10, at: 0 }], 0, true)
  t.same(d.next, [{ level: 40, at: 0 }], 'a refund')
  d = decide([{ ...tokens, cost: 500 }], [{ level: 10, at: 0 }], 0, true)
  t.same(d.next, [{ level: -490, at: 0 }], 'usage above the reservation is a debt')
})

t.test('local limiter: burst then the refill rate, on an injected clock', async t => {
  let now = 0
  const local = createLocalLimiter(() => now)
  const specs = bucketsFor('caller', 'c', { requestsPerSecond: 20, burst: 20 }, undefined)
  let admitted = 0
  // 10 s of requests every 10 ms: 20 (burst) + 20/s × 10 s.
  for (now = 0; now < 10_000; now += 10) if (local.decide(specs).admitted) admitted++
  t.ok(admitted >= 219 && admitted <= 221, `admitted ${admitted}`)
})
