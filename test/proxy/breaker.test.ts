import t from 'tap'
import { CircuitBreaker, type BreakerState } from '../../src/proxy/breaker.js'

function setup (failures = 3, openMs = 10_000) {
  let clock = 1_000_000
  const changes: BreakerState[] = []
  const breaker = new CircuitBreaker({ failures, openMs, now: () => clock, onChange: s => changes.push(s) })
  return { breaker, changes, advance: (ms: number) => { clock += ms } }
}

/** Opens a closed breaker by failing `n` allowed attempts in a row. */
function trip (breaker: CircuitBreaker, n: number) {
  for (let i = 0; i < n; i++) {
    breaker.allow()
    breaker.failure()
  }
}

t.test('closed: every request is allowed, concurrently, and nothing changes', async t => {
  const { breaker, changes } = setup()
  t.equal(breaker.state, 'closed')
  t.equal(breaker.failingFast, false)
  for (let i = 0; i < 10; i++) t.ok(breaker.allow(), `allowed ${i} without any outcome reported`)
  breaker.success()
  breaker.release()
  t.equal(breaker.state, 'closed')
  t.same(changes, [], 'no state change, so no onChange call')
})

t.test('opens after exactly `failures` consecutive connect failures', async t => {
  const { breaker, changes } = setup(3)
  trip(breaker, 2)
  t.equal(breaker.state, 'closed', 'two failures: still closed')
  t.ok(breaker.allow())
  t.same(changes, [])
  breaker.failure()
  t.equal(breaker.state, 'open', 'the third failure opens it')
  t.equal(breaker.failingFast, true)
  t.same(changes, ['open'])
  t.equal(breaker.allow(), false, 'open: fails fast')
  t.equal(breaker.allow(), false)
})

t.test('a success resets the count: failures must be consecutive', async t => {
  const { breaker } = setup(3)
  trip(breaker, 2)
  breaker.allow()
  breaker.success()
  trip(breaker, 2)
  t.equal(breaker.state, 'closed', '2 + success + 2 is not 3 in a row')
  trip(breaker, 1)
  t.equal(breaker.state, 'open', 'the third in a row after the success')
})

t.test('a release is neither a success nor a failure', async t => {
  const { breaker } = setup(3)
  trip(breaker, 2)
  breaker.allow()
  breaker.release()
  t.equal(breaker.state, 'closed')
  trip(breaker, 1)
  t.equal(breaker.state, 'open', 'the count survived the release')
})

t.test('a threshold of 1 opens on the first failure', async t => {
  const { breaker, changes } = setup(1)
  trip(breaker, 1)
  t.equal(breaker.state, 'open')
  t.same(changes, ['open'])
})

t.test('open period: fails fast until openMs has passed, then one probe goes (half-open)', async t => {
  const { breaker, changes, advance } = setup(2, 10_000)
  trip(breaker, 2)
  advance(9_999)
  t.equal(breaker.allow(), false, '1 ms before the end of the open period')
  t.equal(breaker.state, 'open')
  t.equal(breaker.failingFast, true)
  advance(1)
  t.equal(breaker.failingFast, false, 'the open period has lapsed')
  t.equal(breaker.state, 'open', 'still open until someone asks')
  t.same(changes, ['open'])
  t.ok(breaker.allow(), 'the probe')
  t.equal(breaker.state, 'half-open')
  t.same(changes, ['open', 'half-open'])
  t.equal(breaker.failingFast, false, 'half-open is not failing fast')
  t.equal(breaker.allow(), false, 'a second request while the probe is out is refused')
  t.equal(breaker.allow(), false)
  t.same(changes, ['open', 'half-open'], 'refused requests change nothing')
})

t.test('a successful probe closes the circuit and resets the count', async t => {
  const { breaker, changes, advance } = setup(2, 10_000)
  trip(breaker, 2)
  advance(10_000)
  t.ok(breaker.allow())
  breaker.success()
  t.equal(breaker.state, 'closed')
  t.same(changes, ['open', 'half-open', 'closed'])
  t.ok(breaker.allow())
  t.ok(breaker.allow(), 'closed again: concurrent requests allowed')
  trip(breaker, 1)
  t.equal(breaker.state, 'closed', 'the count restarted from zero')
  trip(breaker, 1)
  t.equal(breaker.state, 'open')
})

t.test('a failed probe opens it again for a fresh open period', async t => {
  const { breaker, changes, advance } = setup(2, 10_000)
  trip(breaker, 2)
  advance(25_000)
  t.ok(breaker.allow())
  advance(3_000)
  breaker.failure()
  t.equal(breaker.state, 'open', 'one failure suffices in half-open, below the threshold')
  t.equal(breaker.failingFast, true)
  t.same(changes, ['open', 'half-open', 'open'])
  t.equal(breaker.retryAfterSeconds(), 10, 'the new period counts from the probe failure')
  advance(9_999)
  t.equal(breaker.allow(), false)
  advance(1)
  t.ok(breaker.allow(), 'next probe after a full open period')
  t.equal(breaker.state, 'half-open')
})

t.test('a released probe frees the slot for another probe without closing', async t => {
  const { breaker, changes, advance } = setup(2, 10_000)
  trip(breaker, 2)
  advance(10_000)
  t.ok(breaker.allow())
  t.equal(breaker.allow(), false)
  breaker.release()
  t.equal(breaker.state, 'half-open', 'a release says nothing about the upstream')
  t.ok(breaker.allow(), 'another probe may go')
  t.equal(breaker.allow(), false, 'still one at a time')
  t.same(changes, ['open', 'half-open'])
})

t.test('retryAfterSeconds: whole seconds left in the open period, rounded up, at least 1', async t => {
  const { breaker, advance } = setup(1, 10_000)
  trip(breaker, 1)
  t.equal(breaker.retryAfterSeconds(), 10)
  advance(1)
  t.equal(breaker.retryAfterSeconds(), 10, '9.999 s rounds up')
  advance(999)
  t.equal(breaker.retryAfterSeconds(), 9, 'exactly 9 s left')
  advance(8_500)
  t.equal(breaker.retryAfterSeconds(), 1, '0.5 s rounds up to 1')
  advance(500)
  t.equal(breaker.retryAfterSeconds(), 1, 'period over: never 0')
  advance(60_000)
  t.equal(breaker.retryAfterSeconds(), 1, 'long past: never negative')
  t.ok(breaker.allow())
  t.equal(breaker.allow(), false, 'probe in flight')
  t.equal(breaker.retryAfterSeconds(), 1, 'refused behind a probe: retry in 1 s')
})

t.test('retryAfterSeconds rounds up a sub-second open period', async t => {
  const { breaker } = setup(1, 250)
  trip(breaker, 1)
  t.equal(breaker.retryAfterSeconds(), 1)
})

t.test('failingFast lapses on an idle open circuit; a failure while open does not extend it', async t => {
  const { breaker, changes, advance } = setup(1, 5_000)
  trip(breaker, 1)
  advance(4_000)
  breaker.failure()
  t.equal(breaker.state, 'open')
  t.same(changes, ['open'], 'no second open event')
  advance(1_000)
  t.equal(breaker.failingFast, false, 'the period counts from the opening failure, not later ones')
  t.ok(breaker.allow())
})

t.test('a late success while open closes the circuit (the upstream answered)', async t => {
  const { breaker, changes } = setup(1, 5_000)
  t.ok(breaker.allow(), 'a long request starts while closed')
  trip(breaker, 1)
  t.equal(breaker.state, 'open')
  breaker.success()
  t.equal(breaker.state, 'closed')
  t.equal(breaker.failingFast, false)
  t.same(changes, ['open', 'closed'])
})

t.test('onChange is optional and the clock defaults to Date.now', async t => {
  const breaker = new CircuitBreaker({ failures: 1, openMs: 60_000 })
  breaker.allow()
  breaker.failure()
  t.equal(breaker.state, 'open')
  t.equal(breaker.failingFast, true)
  t.equal(breaker.allow(), false)
  const left = breaker.retryAfterSeconds()
  t.ok(left === 60 || left === 59, `about a minute left on the real clock (${left})`)
  const lapsed = new CircuitBreaker({ failures: 1, openMs: 1 })
  lapsed.failure()
  await new Promise(resolve => setTimeout(resolve, 5))
  t.equal(lapsed.failingFast, false, 'lapsed by the real clock')
  t.ok(lapsed.allow())
  t.equal(lapsed.state, 'half-open')
})

// A request allowed while the circuit was still closed that ends with release() after the
// circuit has gone half-open must not clear the in-flight probe's slot.
t.test('a stale release from a pre-open request does not let a second probe through', async t => {
  const { breaker, advance } = setup(1, 10_000)
  const a = breaker.allow()
  t.equal(a, 'closed', 'a long request A starts while closed')
  trip(breaker, 1)
  advance(10_000)
  t.equal(breaker.allow(), 'probe', 'probe B')
  breaker.release(a) // A ends without telling anything (caller left)
  t.equal(breaker.allow(), false, 'probe B is still in flight: only one probe at a time')
})
