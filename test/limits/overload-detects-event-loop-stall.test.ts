// The overload guard's windows and threshold, on a scripted delay histogram and a manual clock
// (no assertion depends on how busy the machine is); one test watches a real stall through
// node:perf_hooks, asserting only the lower bound a stall guarantees.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { createOverloadGuard, type DelayHistogram } from '../../src/limits/overload.js'
import { manualTime } from '../helpers/manual-time.js'

/** A delay histogram whose samples the test writes (in ms; the guard reads nanoseconds). */
interface Scripted extends DelayHistogram { samples: number[], enabled: boolean }

function scripted (): Scripted {
  const h: Scripted = {
    samples: [],
    enabled: true,
    get count () { return h.samples.length },
    get max () { return Math.max(0, ...h.samples) * 1e6 },
    percentile (p) {
      const sorted = [...h.samples].sort((a, b) => a - b)
      return (sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)] ?? 0) * 1e6
    },
    reset () { h.samples = [] },
    disable () { h.enabled = false }
  }
  return h
}

function setup (maxEventLoopDelayMs: number, windowMs = 1000, resolutionMs = 10) {
  const time = manualTime(0)
  const h = scripted()
  const guard = createOverloadGuard({ maxEventLoopDelayMs, windowMs, resolutionMs, now: time.monotonic, timers: time.timers, monitor: () => h })
  t.teardown(() => guard.close())
  return { time, h, guard }
}

t.test('0 disables the guard: no monitor, no timer', async t => {
  const time = manualTime(0)
  let started = false
  const guard = createOverloadGuard({ maxEventLoopDelayMs: 0, timers: time.timers, monitor: () => { started = true; return scripted() } })
  t.equal(started, false)
  t.equal(time.pending(), 0)
  t.equal(guard.overloaded(), false)
  t.same(guard.delay(), { p99Ms: 0, maxMs: 0 })
  guard.close()
})

t.test('overloaded while the current window stalls, through the next window, not after', async t => {
  const { time, h, guard } = setup(50, 1000)
  h.samples.push(...Array<number>(100).fill(10))
  t.equal(guard.overloaded(), false, 'calm loop: p99 10 ms')
  h.samples.push(...Array<number>(10).fill(300))
  t.equal(guard.overloaded(), false, 'the answer is kept for one sampling interval (10 ms)')
  await time.advance(10)
  t.equal(guard.overloaded(), true, 'stalled now: the current window counts at once')
  await time.advance(990)
  t.same(guard.delay(), { p99Ms: 300, maxMs: 300 }, 'the stalled window, complete, is reported')
  t.equal(h.count, 0, 'and the histogram starts a new window')
  h.samples.push(10)
  t.equal(guard.overloaded(), true, 'the last complete window still counts')
  await time.advance(1000)
  h.samples.push(10)
  t.equal(guard.overloaded(), false, 'a calm window later, the stall no longer counts')
  t.same(guard.delay(), { p99Ms: 10, maxMs: 10 })
})

t.test('an empty window reads as no delay; close() stops the window timer and the monitor', async t => {
  const { time, h, guard } = setup(50, 200)
  await time.advance(200)
  t.same(guard.delay(), { p99Ms: 0, maxMs: 0 })
  t.equal(guard.overloaded(), false)
  t.equal(time.pending(), 1, 'the window timer')
  guard.close()
  t.equal(time.pending(), 0)
  t.equal(h.enabled, false)
})

t.test('a real stall of the event loop is measured (node:perf_hooks)', async t => {
  const time = manualTime(0)
  const guard = createOverloadGuard({ maxEventLoopDelayMs: 50, resolutionMs: 10, windowMs: 1000, timers: time.timers })
  t.teardown(() => guard.close())
  // The monitor measures from its previous sample: give it one, then stall for 300 ms.
  await sleep(30)
  const until = performance.now() + 300
  while (performance.now() < until) { /* busy: the event loop is stalled */ }
  // The monitor's next sample records the stall; a busier machine only makes it longer.
  await sleep(30)
  t.equal(guard.overloaded(), true, 'over 50 ms now')
  await time.advance(1000)
  const seen = guard.delay()
  t.ok(seen.maxMs >= 250, `the window's max delay ${seen.maxMs} ms covers the 300 ms stall`)
  t.ok(seen.p99Ms > 0)
})

t.test('options are validated eagerly', async t => {
  t.throws(() => createOverloadGuard({ maxEventLoopDelayMs: -1 }), TypeError)
  t.throws(() => createOverloadGuard({ maxEventLoopDelayMs: Number.NaN }), TypeError)
  t.throws(() => createOverloadGuard({ maxEventLoopDelayMs: 10, resolutionMs: 0 }), TypeError)
  t.throws(() => createOverloadGuard({ maxEventLoopDelayMs: 10, windowMs: 0 }), TypeError)
})
