import t from 'tap'
import { createConcurrencyLimiter } from '../../src/limits/concurrency.js'

t.test('acquire up to max, refuse beyond, release frees a slot', async t => {
  const limiter = createConcurrencyLimiter()
  const a = limiter.acquire('checkout', 2)
  const b = limiter.acquire('checkout', 2)
  t.ok(a && b)
  t.equal(limiter.acquire('checkout', 2), undefined, 'at the limit')
  t.equal(limiter.inFlight('checkout'), 2)
  t.ok(limiter.acquire('reports', 2), 'callers are separate')
  a!()
  t.equal(limiter.inFlight('checkout'), 1)
  const c = limiter.acquire('checkout', 2)
  t.ok(c)
  t.equal(limiter.acquire('checkout', 2), undefined)
})

t.test('release is idempotent and the entry goes away at zero', async t => {
  const limiter = createConcurrencyLimiter()
  const one = limiter.acquire('x', 1)!
  const two = limiter.acquire('x')!
  one()
  one()
  one()
  t.equal(limiter.inFlight('x'), 1, 'a repeated release gives back one slot only')
  t.equal(limiter.acquire('x', 1), undefined)
  two()
  two()
  t.equal(limiter.inFlight('x'), 0)
  t.ok(limiter.acquire('x', 1))
})

t.test('without max requests are only counted', async t => {
  const limiter = createConcurrencyLimiter()
  const releases = Array.from({ length: 1000 }, () => limiter.acquire('busy', undefined))
  t.ok(releases.every(r => r !== undefined))
  t.equal(limiter.inFlight('busy'), 1000)
  for (const r of releases) r!()
  t.equal(limiter.inFlight('busy'), 0)
})
