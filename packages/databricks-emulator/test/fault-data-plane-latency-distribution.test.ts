import t from 'tap'
import { FaultController } from '../src/faults.js'
import { dataPlaneToken, invoke, start } from './helpers/client.js'

t.test('delays: each request waits one delay, picked by weight', async t => {
  const draws = [0, 0.5, 0.989, 0.99, 0.999]
  const faults = new FaultController(() => draws.shift() ?? 0)
  const fault = { delays: [{ ms: 5, weight: 99 }, { ms: 100, weight: 1 }], latencyMs: 1 }
  t.same([1, 2, 3, 4, 5].map(() => faults.delayOf(fault)), [6, 6, 6, 101, 101])
  t.equal(faults.delayOf({}), 0)
  t.equal(faults.delayOf({ latencyMs: 7 }), 7)
})

t.test('a bad distribution is refused before anything changes', async t => {
  const faults = new FaultController()
  for (const delays of [[], [{ ms: -1, weight: 1 }], [{ ms: 1, weight: 0 }], [{ ms: 1 }], 'x']) {
    t.throws(() => faults.apply({ dataPlane: { delays: delays as never } }), TypeError)
  }
  t.same(faults.list().dataPlane, [])
})

t.test('the emulator applies an endpoint\'s distribution and counts its calls', async t => {
  let n = 0
  // Every fourth request is slow: a tail on a fast endpoint.
  const emu = await start(t, { random: () => (n++ % 4 === 3 ? 0.99 : 0) })
  const token = await dataPlaneToken(emu, 'fraud-model')
  emu.faults.dataPlane({ endpoint: 'fraud-model', delays: [{ ms: 0, weight: 3 }, { ms: 300, weight: 1 }] })
  const times: number[] = []
  for (let i = 0; i < 4; i++) {
    const started = performance.now()
    t.equal((await invoke(emu, 'fraud-model', { inputs: [1] }, token)).status, 200)
    times.push(performance.now() - started)
  }
  // Generous bound: the fourth waited its 300 ms delay, the others none.
  t.ok((times[3] as number) >= 280, `slow one ${String(times[3])} ms`)
  t.same(emu.stats().invocations['fraud-model'], { 200: 4 })
})
