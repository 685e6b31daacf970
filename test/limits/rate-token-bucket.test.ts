import t from 'tap'
import { createRateLimiter } from '../../src/limits/rate.js'

function setup () {
  let clock = 0
  const limiter = createRateLimiter({ now: () => clock })
  return { limiter, advance: (ms: number) => { clock += ms } }
}

t.test('a burst passes, the next request is refused with Retry-After, refill lets more in', async t => {
  const { limiter, advance } = setup()
  const limits = { requestsPerSecond: 2, burst: 5 }
  for (let i = 0; i < 5; i++) t.same(limiter.take('checkout', limits), { ok: true }, `burst ${i}`)
  t.same(limiter.take('checkout', limits), { ok: false, retryAfterSeconds: 1 })
  advance(499)
  t.equal(limiter.take('checkout', limits).ok, false, 'not yet a whole token')
  advance(1)
  t.same(limiter.take('checkout', limits), { ok: true }, 'one token after 500 ms at 2/s')
  t.equal(limiter.take('checkout', limits).ok, false)
  advance(60_000)
  for (let i = 0; i < 5; i++) t.equal(limiter.take('checkout', limits).ok, true, 'refilled to burst, not beyond')
  t.equal(limiter.take('checkout', limits).ok, false)
})

t.test('burst defaults to ceil(rps); Retry-After is whole seconds, at least 1', async t => {
  const { limiter, advance } = setup()
  const slow = { requestsPerSecond: 0.1 }
  t.equal(limiter.take('slow', slow).ok, true)
  t.same(limiter.take('slow', slow), { ok: false, retryAfterSeconds: 10 })
  advance(2500)
  t.same(limiter.take('slow', slow), { ok: false, retryAfterSeconds: 8 }, '7.5 s left, rounded up')
  const fast = { requestsPerSecond: 2.5 }
  for (let i = 0; i < 3; i++) t.equal(limiter.take('fast', fast).ok, true)
  t.same(limiter.take('fast', fast), { ok: false, retryAfterSeconds: 1 })
})

t.test('callers have separate buckets; no rate means no limit', async t => {
  const { limiter } = setup()
  const one = { requestsPerSecond: 1 }
  t.equal(limiter.take('a', one).ok, true)
  t.equal(limiter.take('a', one).ok, false)
  t.equal(limiter.take('b', one).ok, true)
  for (let i = 0; i < 100; i++) t.equal(limiter.take('c', undefined).ok, true)
  t.equal(limiter.take('c', { maxConcurrent: 1 }).ok, true)
  t.equal(limiter.take('c', { requestsPerSecond: 0 }).ok, true)
})

t.test('a lowered burst applies at once; the default clock is monotonic', async t => {
  const { limiter } = setup()
  t.equal(limiter.take('a', { requestsPerSecond: 1, burst: 10 }).ok, true)
  t.equal(limiter.take('a', { requestsPerSecond: 1, burst: 1 }).ok, true)
  t.equal(limiter.take('a', { requestsPerSecond: 1, burst: 1 }).ok, false, 'bucket capped to the new burst')
  const real = createRateLimiter()
  t.equal(real.take('x', { requestsPerSecond: 0.001, burst: 1 }).ok, true)
  t.equal(real.take('x', { requestsPerSecond: 0.001, burst: 1 }).ok, false)
})
