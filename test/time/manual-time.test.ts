// The manual clock every time-bound unit test relies on: if it ran timers early, late or out of
// order, those tests would pass for the wrong reason.
import t from 'tap'
import { manualTime, runUntilSettled } from '../helpers/manual-time.js'
import { realTimers } from '../../src/time/timers.js'

t.test('timers run at their instant, in time order, only when the clock is advanced', async t => {
  const time = manualTime(1000)
  const seen: Array<[string, number]> = []
  time.timers.setTimeout(() => seen.push(['b', time.now()]), 20)
  time.timers.setTimeout(() => seen.push(['a', time.now()]), 10)
  time.timers.setTimeout(() => seen.push(['a2', time.now()]), 10)
  t.equal(time.pending(), 3)
  await time.advance(9)
  t.same(seen, [], 'nothing due yet')
  t.equal(time.now(), 1009)
  await time.advance(100)
  t.same(seen, [['a', 1010], ['a2', 1010], ['b', 1020]], 'each at its own instant; equal instants in scheduling order')
  t.equal(time.now(), 1109)
  t.equal(time.monotonic(), 1109)
  t.equal(time.pending(), 0)
})

t.test('cleared timers never run; intervals repeat until cleared', async t => {
  const time = manualTime(0)
  let fired = 0
  const once = time.timers.setTimeout(() => { fired += 100 }, 5)
  time.timers.clearTimeout(once)
  time.timers.clearTimeout(once)
  time.timers.clearTimeout(undefined)
  let ticks = 0
  const every = time.timers.setInterval(() => { ticks++ }, 10)
  t.equal(every.unref(), every, 'unref() is accepted (and means nothing here)')
  await time.advance(35)
  t.equal(ticks, 3)
  time.timers.clearInterval(every)
  await time.advance(100)
  t.equal(ticks, 3)
  t.equal(fired, 0)
})

t.test('a promise chain started by a timer settles before advance() returns, and its timers run too', async t => {
  const time = manualTime(0)
  const order: string[] = []
  time.timers.setTimeout(() => {
    Promise.resolve().then(() => {
      order.push('chain')
      time.timers.setTimeout(() => order.push('scheduled by the chain'), 5)
    }, () => {})
  }, 10)
  await time.advance(15)
  t.same(order, ['chain', 'scheduled by the chain'])
})

t.test('a delay under 1 ms is 1 ms (as Node); a negative advance is refused', async t => {
  const time = manualTime(0)
  let at = -1
  time.timers.setTimeout(() => { at = time.now() }, 0)
  await time.advance(0)
  t.equal(at, -1)
  await time.advance(1)
  t.equal(at, 1)
  await t.rejects(time.advance(-1), RangeError)
})

t.test('a runaway interval fails the advance instead of hanging', async t => {
  const time = manualTime(0)
  time.timers.setInterval(() => {}, 1)
  await t.rejects(time.advance(1_000_000), /more than 100000 timers/)
})

t.test('runUntilSettled moves the clock until a timer-bound promise settles, and gives up at its limit', async t => {
  const time = manualTime(0)
  const later = new Promise<string>(resolve => { time.timers.setTimeout(() => resolve('done'), 250) })
  t.equal(await runUntilSettled(time, later, 100), 'done')
  t.equal(time.now(), 300, 'in 100 ms steps, no further than the step that settled it')
  const failing = new Promise<never>((_resolve, reject) => { time.timers.setTimeout(() => reject(new Error('boom')), 50) })
  await t.rejects(runUntilSettled(time, failing, 100), /boom/, 'a rejection comes through')
  await t.rejects(runUntilSettled(time, new Promise(() => {}), 100, 1000), /still pending after 1000 ms/)
})

t.test('realTimers are Node\'s own', async t => {
  let ran = false
  const timer = realTimers.setTimeout(() => { ran = true }, 1)
  t.equal(typeof timer.unref, 'function')
  realTimers.clearTimeout(timer)
  const interval = realTimers.setInterval(() => {}, 1000)
  interval.unref()
  realTimers.clearInterval(interval)
  await new Promise(resolve => setImmediate(resolve))
  t.equal(ran, false, 'a cleared timer does not run')
})
