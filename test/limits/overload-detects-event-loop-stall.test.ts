import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { createOverloadGuard, type OverloadGuard } from '../../src/limits/overload.js'

function block (ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) { /* busy: the event loop is stalled */ }
}

async function untilCalm (guard: OverloadGuard): Promise<void> {
  const deadline = Date.now() + 3000
  await sleep(30)
  while (guard.overloaded() && Date.now() < deadline) await sleep(20)
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
  // Start from a calm loop (a busy test runner may have stalled it before this test).
  await untilCalm(guard)
  t.equal(guard.overloaded(), false, 'idle loop')
  block(300)
  // Let the monitor's timer record the stall.
  await sleep(15)
  t.equal(guard.overloaded(), true, 'stalled for 300 ms')
  await untilCalm(guard)
  t.equal(guard.overloaded(), false, 'recovered once the windows roll over')
})

t.test('the last window is reported for gauges', async t => {
  const guard = createOverloadGuard({ maxEventLoopDelayMs: 1000, windowMs: 100 })
  t.teardown(() => guard.close())
  // The monitor measures from its previous sample: give it a first one.
  await sleep(30)
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
