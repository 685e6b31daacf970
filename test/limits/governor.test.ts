// One request's limits: the refusal (message and headers), shadow mode, onStoreFailure, and the
// settling of token reservations; in process, with a store that fails on demand.
import t from 'tap'
import { createGovernor, duration, type LimitDecision } from '../../src/limits/governor.js'
import { createLocalLimiter } from '../../src/limits/local.js'
import { StoreUnavailable, type Store } from '../../src/store/store.js'

function setup (store?: Store): { governor: ReturnType<typeof createGovernor>, counts: string[], clock: { now: number } } {
  const clock = { now: 0 }
  const counts: string[] = []
  const governor = createGovernor({ store, local: createLocalLimiter(() => clock.now), count: (scope, d: LimitDecision) => counts.push(`${scope}:${d}`) })
  return { governor, counts, clock }
}

t.test('a refusal names its own scope and window, with OpenAI\'s headers', async t => {
  const { governor, counts } = setup()
  const caller = { name: 'checkout', limits: { requestsPerSecond: 1, burst: 1, tokensPerMinute: 1000 } }
  const endpoint = { name: 'fraud', limits: { requestsPerMinute: 2 } }
  t.ok((await governor.admit({ caller, endpoint })).ok)
  let v = await governor.admit({ caller, endpoint })
  t.notOk(v.ok)
  if (v.ok) return
  t.equal(v.refusal.message, "caller 'checkout' is over its requestsPerSecond limit")
  t.same(v.refusal.headers, { 'retry-after': '1', 'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s' })
  const other = { name: 'reports' }
  t.ok((await governor.admit({ caller: other, endpoint })).ok)
  v = await governor.admit({ caller: other, endpoint })
  t.notOk(v.ok)
  if (v.ok) return
  t.equal(v.refusal.message, "endpoint 'fraud' is over its requestsPerMinute limit (all callers together)", 'no other caller is named')
  t.same(v.refusal.headers, { 'retry-after': '30', 'x-ratelimit-limit-requests': '2', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '60s' })
  t.same(counts, ['caller:limited', 'endpoint:limited'])
})

t.test('token budgets: reserve, refuse when it does not fit, settle to the usage or refund', async t => {
  const { governor, clock } = setup()
  const caller = { name: 'c', limits: { tokensPerMinute: 1000 } }
  const a = await governor.admit({ caller, tokens: 600 })
  t.ok(a.ok && a.reservation?.tokens === 600)
  const refused = await governor.admit({ caller, tokens: 600 })
  t.notOk(refused.ok)
  if (!refused.ok) {
    t.equal(refused.refusal.message, "caller 'c' is over its tokensPerMinute limit")
    t.same(refused.refusal.headers, { 'retry-after': '12', 'x-ratelimit-limit-tokens': '1000', 'x-ratelimit-remaining-tokens': '400', 'x-ratelimit-reset-tokens': '36s' })
  }
  if (a.ok) a.reservation?.settle(100)
  const b = await governor.admit({ caller, tokens: 600 })
  t.ok(b.ok, 'the unused 500 came back')
  if (b.ok) b.reservation?.settle(0)
  if (b.ok) b.reservation?.settle(600)
  const c = await governor.admit({ caller, tokens: 800 })
  t.ok(c.ok, 'refunded (a second settle does nothing)')
  clock.now += 60_000
  t.ok((await governor.admit({ caller })).ok, 'requests without a reservation skip token budgets')
})

t.test('shadow mode counts what enforce would refuse and admits', async t => {
  const { governor, counts } = setup()
  const caller = { name: 'c', limits: { requestsPerSecond: 1, burst: 1, mode: 'shadow' as const } }
  const as: string[] = []
  for (let i = 0; i < 3; i++) {
    const v = await governor.admit({ caller })
    t.ok(v.ok)
    if (v.ok) as.push(v.as)
  }
  t.same(counts, ['caller:shadow_limited', 'caller:shadow_limited'])
  t.same(as, ['allowed', 'shadow_limited', 'shadow_limited'], 'the access line says which were admitted despite the limit')
})

t.test('onStoreFailure: local divides by the replicas last seen, open admits, closed refuses', async t => {
  const failing: Store = {
    decide: async () => { throw new StoreUnavailable('down') },
    heartbeat: async () => false,
    state: () => 'down',
    replicas: () => 3,
    close: async () => {}
  }
  const { governor, counts } = setup(failing)
  const local = { name: 'l', limits: { requestsPerSecond: 30, burst: 30 } }
  let admitted = 0
  for (let i = 0; i < 30; i++) if ((await governor.admit({ caller: local })).ok) admitted++
  t.equal(admitted, 10, 'a third of the burst')
  const open = { name: 'o', limits: { requestsPerSecond: 1, burst: 1, onStoreFailure: 'open' as const } }
  for (let i = 0; i < 5; i++) {
    const v = await governor.admit({ caller: open })
    t.ok(v.ok && v.as === 'store_fallback', 'admitted by the store-failure rule')
  }
  const closed = { name: 'x', limits: { requestsPerSecond: 100, onStoreFailure: 'closed' as const } }
  const v = await governor.admit({ caller: closed })
  t.notOk(v.ok)
  if (!v.ok) t.same(v.refusal.headers, { 'retry-after': '1' })
  t.ok(counts.every(c => c === 'caller:store_fallback' || c === 'caller:limited'))
  t.equal(counts.filter(c => c === 'caller:store_fallback').length, 36)
})

t.test('durations as OpenAI writes them', async t => {
  t.equal(duration(0), '0ms')
  t.equal(duration(250.2), '251ms')
  t.equal(duration(1500), '1.5s')
  t.equal(duration(60_000), '60s')
})
