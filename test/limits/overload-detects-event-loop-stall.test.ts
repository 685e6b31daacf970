import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { createOverloadGuard } from '../../src/limits/overload.js'

function block (ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) { /* busy: the event loop is stalled */ }
}

t.test('0 disables the guard', async t => {
  const guard = createOverloadGuard({ maxEventLoopDelayMs: 0 })
  t.teardown(() => guard.close())
  block(100)
  await sleep(5)
  t.equal(guard.overloaded(), false)
  t.same(guard.delay(), { p99Ms: 0, maxMs: 0 })
})

t.test('overloaded while the event loop is stalled, not after recovery', async t => {
  const guard = createOverloadGuard({ maxEventLoopDelayMs: 50, resolutionMs: 10, windowMs: 200 })
  t.teardown(() => guard.close())
  await sleep(50)
  t.equal(guard.overloaded(), false, 'idle loop')
  block(300)
  // Let the monitor's timer record the stall.
  await sleep(15)
  t.equal(guard.overloaded(), true, 'stalled for 300 ms')
  const deadline = Date.now() + 2000
  while (guard.overloaded() && Date.now() < deadline) await sleep(20)
  t.equal(guard.overloaded(), false, 'recovered within two windows')
  t.ok(Date.now() < deadline)
})

t.test('the last window is reported for gauges', async t => {
  const guard = createOverloadGuard({ maxEventLoopDelayMs: 1000, windowMs: 100 })
  t.teardown(() => guard.close())
  block(150)
  // The stall lands in the window that was open when the monitor sampled it: poll for it.
  let seen = guard.delay()
  const deadline = Date.now() + 1000
  while (seen.maxMs < 100 && Date.now() < deadline) {
    await sleep(10)
    seen = guard.delay()
  }
  t.ok(seen.maxMs >= 100, `max ${seen.maxMs} ms`)
  t.ok(seen.p99Ms > 0)
  t.equal(guard.overloaded(), false, 'under a 1000 ms threshold')
})

t.test('options are validated eagerly', async t => {
  t.throws(() => createOverloadGuard({ maxEventLoopDelayMs: -1 }), TypeError)
  t.throws(() => createOverloadGuard({ maxEventLoopDelayMs: Number.NaN }), TypeError)
  t.throws(() => createOverloadGuard({ maxEventLoopDelayMs: 10, resolutionMs: 0 }), TypeError)
  t.throws(() => createOverloadGuard({ maxEventLoopDelayMs: 10, windowMs: 0 }), TypeError)
})
