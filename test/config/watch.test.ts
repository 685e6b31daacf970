// watchConfigFile: which directory events count, the debounce, and no overlapping reloads.
import t from 'tap'
import { watchConfigFile } from '../../src/config/watch.js'

function harness () {
  const timers = new Map<number, () => void>()
  let next = 0
  let listener: (event: string, filename: string | null) => void = () => {}
  let watched = ''
  let closed = false
  const deps = {
    debounceMs: 100,
    watch: (dir: string, l: typeof listener) => { watched = dir; listener = l; return { close: () => { closed = true }, on: () => ({}) as never } },
    setTimeout: (fn: () => void) => { timers.set(++next, fn); return next },
    clearTimeout: (h: unknown) => { timers.delete(h as number) }
  }
  const runTimers = (): void => { for (const [k, fn] of [...timers]) { timers.delete(k); fn() } }
  return { deps, emit: (f: string | null) => { listener('rename', f) }, runTimers, pending: () => timers.size, watched: () => watched, closed: () => closed }
}

t.test('watches the directory; the file name, ..data* and unnamed events count, others do not', async t => {
  const h = harness()
  let calls = 0
  const w = watchConfigFile('/etc/routegate/config.yaml', async () => { calls++ }, h.deps as never)
  t.equal(h.watched(), '/etc/routegate')
  h.emit('other.yaml')
  t.equal(h.pending(), 0, 'another file in the directory is ignored')
  h.emit('..data_tmp')
  h.emit('..data')
  h.emit('config.yaml')
  h.emit(null)
  t.equal(h.pending(), 1, 'a burst is one pending timer (debounced)')
  h.runTimers()
  await new Promise(resolve => setImmediate(resolve))
  t.equal(calls, 1, 'one call per burst')
  w.close()
  t.ok(h.closed())
  h.emit('config.yaml')
  h.runTimers()
  t.equal(calls, 1, 'nothing after close')
})

t.test('a burst during a running reload schedules exactly one more after it', async t => {
  const h = harness()
  let calls = 0
  let release: () => void = () => {}
  const w = watchConfigFile('/c/config.yaml', async () => { calls++; await new Promise<void>(resolve => { release = resolve }) }, h.deps as never)
  h.emit('config.yaml')
  h.runTimers()
  t.equal(calls, 1)
  h.emit('config.yaml')
  h.runTimers()
  h.emit('config.yaml')
  h.runTimers()
  t.equal(calls, 1, 'no overlap while the first runs')
  release()
  await new Promise(resolve => setImmediate(resolve))
  t.equal(h.pending(), 1, 'one follow-up scheduled')
  h.runTimers()
  t.equal(calls, 2)
  release()
  w.close()
})
